// Package keys holds the owner's secret key material: one random master
// secret, stored in the repository (optionally sealed under a passphrase with
// Argon2id), from which every key the owner needs is derived. Seal and Open
// seal other secrets the repository keeps (the federation authority key)
// the same way.
package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
	"lukechampine.com/blake3"
)

// Sentinel errors callers branch on.
var (
	// ErrPassphraseRequired: the key file is sealed and no passphrase was given.
	ErrPassphraseRequired = errors.New("keys: protected by a passphrase; set CAIRN_PASSPHRASE or use --passphrase-file")
	// ErrWrongPassphrase: the passphrase does not open the key file.
	ErrWrongPassphrase = errors.New("keys: wrong passphrase")
)

// fileVersion is the key file's format version.
const fileVersion = 1

// Argon2id parameters for sealing the master secret: 64 MiB and 3 passes
// cost a guesser about a quarter second per try on a small machine, while
// unlocking happens once per daemon start.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 2
)

// Owner is the unlocked key material of a node's owner.
type Owner struct {
	master [32]byte
}

// Generate makes new owner key material from the system's random source.
func Generate() (*Owner, error) {
	var o Owner
	if _, err := rand.Read(o.master[:]); err != nil {
		return nil, fmt.Errorf("generate owner secret: %w", err)
	}
	return &o, nil
}

// FromSecret makes owner key material from a master secret, as Secret
// returns it (from a paper key or combined shares).
func FromSecret(secret [32]byte) *Owner { return &Owner{master: secret} }

// Secret returns the master secret, for backups only (a paper key or
// shares): every other use goes through the keys derived from it.
func (o *Owner) Secret() [32]byte { return o.master }

// Fingerprint is a short, non-secret name of the key material that lets
// people tell keys apart: the first 8 bytes of a key derived for that
// purpose alone, in hex groups of four ("3f2a-91bc-0d4e-7781"). It reveals
// nothing usable about the master secret.
func (o *Owner) Fingerprint() string {
	sum := o.derive("fingerprint v1")
	h := hex.EncodeToString(sum[:8])
	return h[0:4] + "-" + h[4:8] + "-" + h[8:12] + "-" + h[12:16]
}

// derive returns a 32-byte key for one purpose; purposes never collide
// because each has its own BLAKE3 derive-key context.
func (o *Owner) derive(purpose string) [32]byte {
	var out [32]byte
	blake3.DeriveKey(out[:], "cairn 2026 "+purpose, o.master[:])
	return out
}

// ContentSecret keys the convergent encryption of the owner's chunks.
func (o *Owner) ContentSecret() [32]byte { return o.derive("content secret v1") }

// IndexKey seals what the node stores about the owner's objects at rest
// (capabilities and names in the local index).
func (o *Owner) IndexKey() [32]byte { return o.derive("index key v1") }

// ObjectSecret derives each object's own signing key (see
// object.OwnerKey): the key an object's ID commits to, which alone may
// delete it or change its policy. One key per object keeps holders from
// linking one owner's objects by key.
func (o *Owner) ObjectSecret() [32]byte { return o.derive("object secret v1") }

// CatalogKey signs the heads of the owner's catalog (see package
// catalog): members keep the latest head under its public key, so the
// master secret alone finds the catalog again.
func (o *Owner) CatalogKey() ed25519.PrivateKey {
	seed := o.derive("catalog key v1")
	return ed25519.NewKeyFromSeed(seed[:])
}

// CatalogSealKey seals the capability a catalog head names, so members
// keeping heads cannot open the catalog.
func (o *Owner) CatalogSealKey() [32]byte { return o.derive("catalog seal key v1") }

// SnapshotKey seals the node's secret keys inside a snapshot of its
// repository (package node/snapshot): restoring one takes the owner key.
func (o *Owner) SnapshotKey() [32]byte { return o.derive("snapshot key v1") }

// SnapshotMACKey authenticates a snapshot's manifest, and through it every
// entry: a snapshot changed by anyone without the owner key does not
// restore.
func (o *Owner) SnapshotMACKey() [32]byte { return o.derive("snapshot manifest mac v1") }

// SigningKey signs what only the owner may say (tombstones, for example).
func (o *Owner) SigningKey() ed25519.PrivateKey {
	seed := o.derive("signing key v1")
	return ed25519.NewKeyFromSeed(seed[:])
}

// keyFile is the JSON form of the key file.
type keyFile struct {
	Version int    `json:"version"`
	KDF     string `json:"kdf"` // "none" or "argon2id"
	Salt    []byte `json:"salt,omitempty"`
	Time    uint32 `json:"time,omitempty"`
	Memory  uint32 `json:"memory_kib,omitempty"`
	Threads uint8  `json:"threads,omitempty"`
	Secret  []byte `json:"secret"` // the master secret, sealed when KDF is argon2id
}

// Marshal encodes the key material for the key file, sealed under the
// passphrase when one is given.
func (o *Owner) Marshal(passphrase []byte) ([]byte, error) {
	return Seal(o.master[:], passphrase, "owner key")
}

// Unmarshal decodes a key file, opening it with the passphrase if sealed.
func Unmarshal(data, passphrase []byte) (*Owner, error) {
	secret, err := Open(data, passphrase, "owner key")
	if err != nil {
		return nil, err
	}
	if len(secret) != 32 {
		return nil, fmt.Errorf("keys: owner key file holds %d secret bytes, want 32", len(secret))
	}
	var o Owner
	copy(o.master[:], secret)
	return &o, nil
}

// Seal encodes secret as a key file (JSON), sealed with XChaCha20-Poly1305
// under a key stretched from the passphrase with Argon2id when a
// passphrase is given, stored as it is otherwise. what names the secret in
// errors.
func Seal(secret, passphrase []byte, what string) ([]byte, error) {
	kf := keyFile{Version: fileVersion, KDF: "none", Secret: secret}
	if len(passphrase) > 0 {
		kf.KDF, kf.Time, kf.Memory, kf.Threads = "argon2id", argonTime, argonMemory, argonThreads
		kf.Salt = make([]byte, 16)
		if _, err := rand.Read(kf.Salt); err != nil {
			return nil, fmt.Errorf("seal %s: generate salt: %w", what, err)
		}
		aead, err := chacha20poly1305.NewX(kf.stretch(passphrase))
		if err != nil {
			return nil, fmt.Errorf("seal %s: %w", what, err)
		}
		nonce := make([]byte, aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("seal %s: generate nonce: %w", what, err)
		}
		kf.Secret = aead.Seal(nonce, nonce, secret, nil)
	}
	return json.MarshalIndent(kf, "", "  ")
}

func (kf keyFile) stretch(passphrase []byte) []byte {
	return argon2.IDKey(passphrase, kf.Salt, kf.Time, kf.Memory, kf.Threads, chacha20poly1305.KeySize)
}

// Open decodes what Seal wrote, opening it with the passphrase if sealed.
func Open(data, passphrase []byte, what string) ([]byte, error) {
	var kf keyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		return nil, fmt.Errorf("keys: read %s file: %w", what, err)
	}
	if kf.Version != fileVersion {
		return nil, fmt.Errorf("keys: %s file has version %d, this cairn reads version %d", what, kf.Version, fileVersion)
	}
	return kf.open(passphrase, what)
}

func (kf keyFile) open(passphrase []byte, what string) ([]byte, error) {
	switch kf.KDF {
	case "none":
		return kf.Secret, nil
	case "argon2id":
	default:
		return nil, fmt.Errorf("keys: %s file uses unknown kdf %q", what, kf.KDF)
	}
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("%s: %w", what, ErrPassphraseRequired)
	}
	if kf.Memory > 4*1024*1024 || kf.Time > 100 || kf.Threads == 0 {
		return nil, fmt.Errorf("keys: %s file has implausible argon2id parameters", what)
	}
	aead, err := chacha20poly1305.NewX(kf.stretch(passphrase))
	if err != nil {
		return nil, fmt.Errorf("keys: open %s: %w", what, err)
	}
	if len(kf.Secret) < aead.NonceSize() {
		return nil, fmt.Errorf("keys: %s file is truncated", what)
	}
	nonce, sealed := kf.Secret[:aead.NonceSize()], kf.Secret[aead.NonceSize():]
	secret, err := aead.Open(nil, nonce, sealed, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, ErrWrongPassphrase)
	}
	return secret, nil
}

// Protected reports whether key file data is sealed under a passphrase.
func Protected(data []byte) bool {
	var kf keyFile
	return json.Unmarshal(data, &kf) == nil && kf.KDF == "argon2id"
}
