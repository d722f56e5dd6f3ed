package federation

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
)

// Authority holds the federation's ed25519 signing key. Whoever holds it
// can admit and revoke members and issue takedowns, nothing more; keep it
// offline between uses (MarshalAuthority, ParseAuthority).
type Authority struct {
	key ed25519.PrivateKey
}

const (
	idPrefix        = "cfed1"
	idDomain        = "cairn federation id v1\x00"
	idHashBytes     = 20 // 160 bits: 32 base32 characters
	idLen           = len(idPrefix) + 32
	authorityPrefix = "cauth1"
	authorityFormat = 1
	// maxAuthorityFile bounds the text ParseAuthority reads; the file
	// MarshalAuthority writes is about 200 bytes.
	maxAuthorityFile = 4096
)

// NewAuthority creates a federation authority from the randomness in rand
// (crypto/rand.Reader in production).
func NewAuthority(rand io.Reader) (*Authority, error) {
	_, key, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("generate authority key: %w", err)
	}
	return &Authority{key: key}, nil
}

// PublicKey returns the key that verifies the authority's signatures.
func (a *Authority) PublicKey() ed25519.PublicKey {
	return a.key.Public().(ed25519.PublicKey)
}

// FederationID returns the ID of the federation this authority governs.
func (a *Authority) FederationID() string { return IDFromKey(a.PublicKey()) }

// String names the federation and never prints the private key.
func (a *Authority) String() string { return "federation authority " + a.FederationID() }

// SigningKey returns the authority's private key, for the federation-wide
// statements it signs outside rosters (takedown tombstones). Keep it
// inside the process.
func (a *Authority) SigningKey() ed25519.PrivateKey { return a.key }

func (a *Authority) sign(domain string, body []byte) []byte {
	return ed25519.Sign(a.key, append([]byte(domain), body...))
}

// IDFromKey derives a federation ID from the authority's public key:
// "cfed1" followed by 32 lowercase base32 characters of a domain-separated
// SHA-256. The ID commits to the key, so a roster can prove that it was
// signed by its federation's authority.
func IDFromKey(pub ed25519.PublicKey) string {
	h := sha256.New()
	h.Write([]byte(idDomain))
	h.Write(pub)
	return idPrefix + encodeBase32(h.Sum(nil)[:idHashBytes])
}

func validateFederationID(id string) error {
	if len(id) != idLen || !strings.HasPrefix(id, idPrefix) {
		return fmt.Errorf("federation ID %q is not cfed1 and 32 base32 characters: %w", id, ErrInvalid)
	}
	for _, c := range id[len(idPrefix):] {
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return fmt.Errorf("federation ID %q has a character outside base32: %w", id, ErrInvalid)
		}
	}
	return nil
}

// MarshalAuthority returns the authority key as a small text file: two
// comment lines and one line "cauth1..." holding the format version, the
// 32-byte ed25519 seed and a checksum. Anyone who reads it can govern the
// federation; store it offline.
func MarshalAuthority(a *Authority) string {
	return fmt.Sprintf("# Cairn federation authority key for %s.\n"+
		"# Whoever holds this can admit and revoke members. Keep it offline.\n%s\n",
		a.FederationID(), sealEnvelope(authorityPrefix, authorityFormat, a.key.Seed()))
}

// ParseAuthority reads what MarshalAuthority wrote: blank lines and lines
// starting with '#' are ignored, exactly one key line must remain.
func ParseAuthority(text string) (*Authority, error) {
	line, err := authorityLine(text)
	if err != nil {
		return nil, fmt.Errorf("authority key: %w", err)
	}
	seed, err := openEnvelope(line, authorityPrefix, authorityFormat, ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("authority key: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("authority key: seed of %d bytes, want %d: %w", len(seed), ed25519.SeedSize, ErrMalformed)
	}
	return &Authority{key: ed25519.NewKeyFromSeed(seed)}, nil
}

func authorityLine(text string) (string, error) {
	if len(text) > maxAuthorityFile {
		return "", fmt.Errorf("%d bytes, more than an authority key file holds: %w", len(text), ErrTooLarge)
	}
	var found []string
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			found = append(found, line)
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("want one key line starting with %q, found %d: %w", authorityPrefix, len(found), ErrMalformed)
	}
	return found[0], nil
}
