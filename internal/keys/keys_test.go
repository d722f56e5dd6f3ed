package keys

import (
	"bytes"
	"errors"
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
