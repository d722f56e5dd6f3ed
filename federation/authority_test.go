package federation

import (
	"errors"
	"strings"
	"testing"
)

func TestAuthorityRoundTrip(t *testing.T) {
	a := newTestAuthority(t, 1)
	text := MarshalAuthority(a)
	got, err := ParseAuthority(text)
	if err != nil {
		t.Fatalf("ParseAuthority: %v", err)
	}
	if !got.PublicKey().Equal(a.PublicKey()) {
		t.Errorf("got key %x, want %x", got.PublicKey(), a.PublicKey())
	}
	if !strings.Contains(text, a.FederationID()) {
		t.Errorf("file does not name the federation %s:\n%s", a.FederationID(), text)
	}
}

func TestFederationID(t *testing.T) {
	a, b := newTestAuthority(t, 1), newTestAuthority(t, 2)
	id := a.FederationID()
	if err := validateFederationID(id); err != nil {
		t.Errorf("ID %q: %v", id, err)
	}
	if id == b.FederationID() {
		t.Errorf("two keys share the ID %s", id)
	}
	if strings.Contains(a.String(), string(a.key)) || !strings.Contains(a.String(), id) {
		t.Errorf("String() = %q, want the ID and no key", a.String())
	}
}

func TestParseAuthorityErrors(t *testing.T) {
	a := newTestAuthority(t, 1)
	line := sealEnvelope(authorityPrefix, authorityFormat, a.key.Seed())
	flip := []byte(line)
	flip[20] = map[bool]byte{true: 'b', false: 'a'}[flip[20] == 'a']
	tests := []struct {
		name string
		text string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"only comments", "# nothing\n\n", ErrMalformed},
		{"two keys", line + "\n" + line + "\n", ErrMalformed},
		{"other prefix", "cjoin1" + line[len(authorityPrefix):], ErrCorrupted},
		{"changed character", string(flip), ErrCorrupted},
		{"not base32", line[:20] + "!" + line[21:], ErrCorrupted},
		{"truncated", line[:len(line)-10], ErrTruncated},
		{"extra characters", line + "aaaaaaaa", ErrCorrupted},
		{"future format", sealEnvelope(authorityPrefix, 2, a.key.Seed()), ErrUnsupportedVersion},
		{"short seed", sealEnvelope(authorityPrefix, authorityFormat, a.key.Seed()[:16]), ErrMalformed},
		{"huge file", strings.Repeat("#", 5000), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseAuthority(tt.text)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseAuthorityTolerates(t *testing.T) {
	a := newTestAuthority(t, 3)
	line := sealEnvelope(authorityPrefix, authorityFormat, a.key.Seed())
	for _, text := range []string{line, strings.ToUpper(line), "\n  " + line + "  \r\n", line[:30] + " \t" + line[30:]} {
		got, err := ParseAuthority(text)
		if err != nil || !got.PublicKey().Equal(a.PublicKey()) {
			t.Errorf("ParseAuthority(%q) = %v, %v; want the key back", text, got, err)
		}
	}
}
