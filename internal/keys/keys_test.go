package keys

import (
	"bytes"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestRoundTripPlain(t *testing.T) {
	o, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	data, err := o.Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	if Protected(data) {
		t.Error("plain key file reported as protected")
	}
	back, err := Unmarshal(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if back.ContentSecret() != o.ContentSecret() {
		t.Error("content secret changed across a round trip")
	}
}

func TestRoundTripPassphrase(t *testing.T) {
	o, _ := Generate()
	data, err := o.Marshal([]byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if !Protected(data) {
		t.Error("sealed key file not reported as protected")
	}
	if bytes.Contains(data, o.master[:]) {
		t.Error("sealed key file contains the raw master secret")
	}
	if _, err := Unmarshal(data, nil); !errors.Is(err, ErrPassphraseRequired) {
		t.Errorf("no passphrase: got %v, want ErrPassphraseRequired", err)
	}
	if _, err := Unmarshal(data, []byte("wrong")); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: got %v, want ErrWrongPassphrase", err)
	}
	back, err := Unmarshal(data, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.SigningKey(), o.SigningKey()) {
		t.Error("signing key changed across a round trip")
	}
}

func TestDerivedKeysDiffer(t *testing.T) {
	o, _ := Generate()
	c, i := o.ContentSecret(), o.IndexKey()
	if c == i || bytes.Equal(c[:], o.SigningKey().Seed()) {
		t.Error("derived keys for different purposes collide")
	}
}

func TestUnmarshalRejectsGarbage(t *testing.T) {
	for _, in := range []string{"", "{", `{"version":2}`, `{"version":1,"kdf":"rot13","secret":""}`, `{"version":1,"kdf":"none","secret":"AAAA"}`} {
		if _, err := Unmarshal([]byte(in), nil); err == nil {
			t.Errorf("Unmarshal(%q) succeeded", in)
		}
	}
}

// TestFromSecret: an owner made from another's secret derives the same
// keys, and Secret gives back what FromSecret took.
func TestFromSecret(t *testing.T) {
	o, _ := Generate()
	back := FromSecret(o.Secret())
	if back.Secret() != o.master {
		t.Error("Secret does not return the master secret")
	}
	if back.ContentSecret() != o.ContentSecret() || !bytes.Equal(back.SigningKey(), o.SigningKey()) {
		t.Error("an owner made from the secret derives different keys")
	}
}

// TestFingerprint: the fingerprint has a fixed shape, is stable for one
// secret (a pinned answer keeps the derivation from changing), differs between keys, and
// is not a prefix of the secret or of any derived key.
func TestFingerprint(t *testing.T) {
	var zero [32]byte
	fp := FromSecret(zero).Fingerprint()
	if !regexp.MustCompile(`^[0-9a-f]{4}(-[0-9a-f]{4}){3}$`).MatchString(fp) {
		t.Fatalf("fingerprint %q is not four hex groups of four", fp)
	}
	if got := FromSecret(zero).Fingerprint(); got != fp {
		t.Errorf("fingerprint of one secret changed: %s, then %s", fp, got)
	}
	const want = "3c49-6fe6-a649-5ff9" // pinned: a change here renames every key
	if fp != want {
		t.Errorf("fingerprint of the zero secret: got %s, want %s", fp, want)
	}
	a, _ := Generate()
	b, _ := Generate()
	if a.Fingerprint() == b.Fingerprint() {
		t.Error("two generated keys share a fingerprint")
	}
	raw := strings.ReplaceAll(a.Fingerprint(), "-", "")
	for name, k := range map[string][32]byte{"master": a.master, "content secret": a.ContentSecret(), "index key": a.IndexKey(), "object secret": a.ObjectSecret()} {
		if strings.HasPrefix(hex.EncodeToString(k[:]), raw) {
			t.Errorf("fingerprint is a prefix of the %s", name)
		}
	}
}
