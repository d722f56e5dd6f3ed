package federation

import (
	"bytes"
	"testing"
	"time"
)

// fuzzSeeds returns a small valid federation for seeding fuzz targets.
func fuzzSeeds(f *testing.F) (*Authority, Roster, JoinToken) {
	a := newTestAuthority(f, 1)
	r := testFederation(f, a)
	r, err := Revoke(r, testMember(1, "", "").PeerID, "retired", a, t0.Add(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	tok, err := NewJoinToken(r, testMember(2, "", "").PeerID, testBootstrap, t0.Add(24*time.Hour), a)
	if err != nil {
		f.Fatal(err)
	}
	return a, r, tok
}

// FuzzDecodeRoster: never panics, and whatever decodes re-encodes to the
// same bytes (the encoding is canonical).
func FuzzDecodeRoster(f *testing.F) {
	_, r, _ := fuzzSeeds(f)
	valid := r.Encode()
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte{rosterFormat})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeRoster(b)
		if err != nil {
			return
		}
		if !bytes.Equal(got.Encode(), b) {
			t.Errorf("decoded roster re-encodes differently")
		}
		_ = got.Verify(got.FederationID, t0)
	})
}

// FuzzParseJoinToken: never panics, and an accepted token re-encodes to
// the input with whitespace removed and letters lowercased.
func FuzzParseJoinToken(f *testing.F) {
	_, _, tok := fuzzSeeds(f)
	s := tok.Encode()
	f.Add(s)
	f.Add(s[:len(s)-3])
	f.Add(flipChar(s, 50))
	f.Add("cjoin1")
	f.Add(sealEnvelope(tokenPrefix, tokenFormat, []byte("short body")))
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseJoinToken(s, t0.Add(time.Hour))
		if err != nil {
			return
		}
		if got.Encode() != compact(s) {
			t.Errorf("accepted token re-encodes differently")
		}
	})
}

// FuzzParseAuthority: never panics, and an accepted key file yields a key
// that writes back to the same key line.
func FuzzParseAuthority(f *testing.F) {
	a, _, _ := fuzzSeeds(f)
	text := MarshalAuthority(a)
	f.Add(text)
	f.Add(text[:len(text)-5])
	f.Add("# comment only\n")
	f.Add(sealEnvelope(authorityPrefix, authorityFormat, []byte{1, 2, 3}))
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseAuthority(s)
		if err != nil {
			return
		}
		if _, err := ParseAuthority(MarshalAuthority(got)); err != nil {
			t.Errorf("re-parse of marshalled key: %v", err)
		}
	})
}
