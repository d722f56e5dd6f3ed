package snapshot

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/cairn-fed/cairn/internal/keys"
	"github.com/cairn-fed/cairn/node/repo"
	"golang.org/x/crypto/chacha20poly1305"
)

// The node's keys in a snapshot: sealed under a key derived from the owner
// key and bound to the header, and written back as the repository's key
// files by a restore.

// sealSecrets seals the key files under the owner's snapshot key, bound
// to the header: sealed keys moved under another header do not open.
func sealSecrets(s Secrets, owner *keys.Owner, header []byte) ([]byte, error) {
	plain, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("snapshot: encode keys: %w", err)
	}
	key := owner.SnapshotKey()
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, fmt.Errorf("snapshot: seal keys: %w", err)
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("snapshot: seal keys: %w", err)
	}
	return aead.Seal(nonce, nonce, plain, header), nil
}

// openSecrets opens what sealSecrets sealed.
func openSecrets(sealed []byte, owner *keys.Owner, header []byte) (Secrets, error) {
	key := owner.SnapshotKey()
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return Secrets{}, fmt.Errorf("snapshot: open keys: %w", err)
	}
	if len(sealed) < aead.NonceSize() {
		return Secrets{}, fmt.Errorf("%w: the sealed keys are %d bytes", ErrCorrupt, len(sealed))
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], header)
	if err != nil {
		return Secrets{}, fmt.Errorf("%w: the sealed keys do not open with this owner key and header", ErrCorrupt)
	}
	var s Secrets
	if err := json.Unmarshal(plain, &s); err != nil || len(s.Identity) == 0 {
		return Secrets{}, fmt.Errorf("%w: the sealed keys do not decode", ErrCorrupt)
	}
	return s, nil
}

// readKeys reads the owner key file and the sealed keys, has the caller
// unlock the owner key, and writes the repository's key files.
func (rs *restorer) readKeys(head []byte) error {
	h := rs.sum.Header
	hdr, err := rs.next()
	if err != nil {
		return err
	}
	var ownerFile []byte
	if hdr.Name == ownerKeyEntry && h.OwnerKey {
		if ownerFile, err = rs.readSmall(hdr, maxHeaderBytes); err != nil {
			return err
		}
		if hdr, err = rs.next(); err != nil {
			return err
		}
	}
	want := keysEntry
	if h.OwnerKey && ownerFile == nil {
		want = ownerKeyEntry // the header says it is included
	}
	if hdr.Name != want {
		return fmt.Errorf("%w: %q where %s was expected", ErrCorrupt, hdr.Name, want)
	}
	sealed, err := rs.readSmall(hdr, maxKeysBytes)
	if err != nil {
		return err
	}
	owner, err := rs.unlock(h, ownerFile)
	if err != nil {
		return fmt.Errorf("snapshot: unlock the owner key: %w", err)
	}
	if got := owner.Fingerprint(); got != h.Owner {
		return fmt.Errorf("%w: it is %s, the snapshot's is %s", ErrWrongOwner, got, h.Owner)
	}
	rs.owner = owner
	secrets, err := openSecrets(sealed, owner, head)
	if err != nil {
		return err
	}
	if ownerFile == nil {
		if ownerFile, err = owner.Marshal(nil); err != nil { // the repository had it bare
			return err
		}
	}
	token := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		return fmt.Errorf("snapshot: generate API token: %w", err)
	}
	type keyFile struct {
		name string
		data []byte
	}
	files := []keyFile{
		{repo.IdentityFile, secrets.Identity},
		{repo.OwnerFile, ownerFile},
		{repo.TokenFile, []byte(hex.EncodeToString(token) + "\n")},
		{repo.AuthorityFile, secrets.Authority},
	}
	if secrets.PSKFile != "" {
		if name := filepath.Clean(secrets.PSKFile); filepath.IsLocal(name) && !strings.ContainsRune(name, filepath.Separator) {
			files = append(files, keyFile{name, secrets.PSK})
		} else {
			rs.sum.Notes = append(rs.sum.Notes, fmt.Sprintf("swarm.psk_file names %s, outside the repository: put the federation's private-network key back there before starting the daemon", secrets.PSKFile))
		}
	}
	for _, f := range files {
		if f.data == nil {
			continue
		}
		if _, err := rs.create(f.name, bytes.NewReader(f.data)); err != nil {
			return err
		}
	}
	return nil
}
