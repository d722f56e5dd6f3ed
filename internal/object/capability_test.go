package object

import (
	"errors"
	"strings"
	"testing"
)

func TestCapabilityRoundTrip(t *testing.T) {
	store := newMemStore()
	for _, opts := range []AddOptions{{}, {Unencrypted: true}} {
		res := addBytes(t, store, "f", []byte("x"), testSecret(1), opts)
		s := res.Capability.String()
		got, err := ParseCapability("  " + strings.ToUpper(s) + "\n")
		if err != nil {
			t.Fatalf("ParseCapability(%q): %v", s, err)
		}
		if got != res.Capability || got.Encrypted() == opts.Unencrypted || !got.Root().Equals(res.Root) {
			t.Errorf("ParseCapability(String()) = %+v, want %+v", got, res.Capability)
		}
	}
}

func TestParseCapabilityErrors(t *testing.T) {
	res := addBytes(t, newMemStore(), "f", []byte("x"), testSecret(1), AddOptions{})
	good := res.Capability.String()
	typo := []byte(good)
	if typo[20] == 'a' {
		typo[20] = 'b'
	} else {
		typo[20] = 'a'
	}
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", "does not start with"},
		{"other prefix", "bafybeigdyrzt", "does not start with"},
		{"truncated", good[:len(good)-5], "truncated"},
		{"cut in half", good[:len(good)/2], "truncated"},
		{"prefix only", "cairn1", "truncated"},
		{"extra", good + "aa", "extra characters"},
		{"typo", string(typo), "checksum mismatch"},
		{"bad character", good[:30] + "0" + good[31:], "invalid character '0' at position 30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCapability(tt.in)
			if !errors.Is(err, ErrInvalidCapability) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseCapability error = %v, want ErrInvalidCapability saying %q", err, tt.want)
			}
		})
	}
}
