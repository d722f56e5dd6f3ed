// Package paperkey owns the human-typable forms of the owner's secret: the
// paper key and K-of-N shares (Shamir's secret sharing over GF(256)).
//
// Both are text of one shape: a prefix naming the form and its version
// ("cairn-key1-", "cairn-share1-"), then the payload and a 4-byte BLAKE3
// checksum over prefix and payload in base32 (0-9 and a-z without i, l, o
// and u; i and l are read as 1, o as 0), in dash-separated groups of five.
// Decoding ignores case, spaces, newlines and dashes, and says what is
// wrong: the prefix, the length, a character, or the checksum, naming the
// group to check when one mistyped character or one swap of neighbours
// explains the mismatch. The checksum misses a given mistake with
// probability 2^-32.
package paperkey

import (
	"bytes"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"lukechampine.com/blake3"
)

// Sentinel errors callers branch on; the errors returned wrap them with
// the details.
var (
	// ErrNotPaperKey: the text does not begin like a paper key.
	ErrNotPaperKey = errors.New("paperkey: not a Cairn paper key")
	// ErrNotShare: the text does not begin like a key share.
	ErrNotShare = errors.New("paperkey: not a Cairn key share")
	// ErrLength: the text has too few or too many characters.
	ErrLength = errors.New("paperkey: wrong length")
	// ErrCharacter: the text holds a character its alphabet lacks.
	ErrCharacter = errors.New("paperkey: invalid character")
	// ErrChecksum: the text is mistyped (or was altered).
	ErrChecksum = errors.New("paperkey: checksum does not match")
)

// alphabet is Crockford's base32 alphabet in lowercase: no i, l, o or u,
// which read too much like 1, 1, 0 and v.
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

var b32 = base32.NewEncoding(alphabet).WithPadding(base32.NoPadding)

const (
	groupSize    = 5 // characters between dashes
	checksumSize = 4 // bytes of BLAKE3 after the payload
)

// form is one kind of text: a paper key or a share.
type form struct {
	prefix  string // as printed, e.g. "cairn-key1-"
	name    string // "paper key"
	size    int    // payload bytes, before the checksum
	notThis error  // the sentinel for text of another kind
}

// tag is the prefix as it reads once normalized.
func (f form) tag() string { return normalize(f.prefix) }

// chars is the length of the encoded payload and checksum.
func (f form) chars() int { return b32.EncodedLen(f.size + checksumSize) }

// checksum binds the payload to its form's prefix.
func (f form) checksum(payload []byte) []byte {
	sum := blake3.Sum256(append([]byte(f.prefix), payload...))
	return sum[:checksumSize]
}

// encode writes payload as text of this form.
func (f form) encode(payload []byte) string {
	if len(payload) != f.size {
		panic(fmt.Sprintf("paperkey: %s payload of %d bytes, want %d", f.name, len(payload), f.size))
	}
	body := b32.EncodeToString(append(append([]byte(nil), payload...), f.checksum(payload)...))
	var b strings.Builder
	b.WriteString(f.prefix)
	for i := 0; i < len(body); i += groupSize {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(body[i:min(i+groupSize, len(body))])
	}
	return b.String()
}

// decode reads text of this form and returns its payload.
func (f form) decode(text string) ([]byte, error) {
	s := normalize(text)
	body, ok := strings.CutPrefix(s, f.tag())
	if !ok {
		return nil, f.wrongPrefix(s)
	}
	canon, err := f.canonical(body)
	if err != nil {
		return nil, err
	}
	if n, want := len(canon), f.chars(); n != want {
		hint := "a group missing?"
		if n > want {
			hint = "extra characters, or two run together?"
		}
		return nil, fmt.Errorf("%w: %d characters, a %s has %d: %s", ErrLength, n, f.name, want, hint)
	}
	if payload, ok := f.open(canon); ok {
		return payload, nil
	}
	return nil, f.mismatch(canon)
}

// normalize lowercases text and drops whitespace and dashes.
func normalize(text string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '-' {
			return -1
		}
		return unicode.ToLower(r)
	}, text)
}

// wrongPrefix says why normalized text s is not of this form.
func (f form) wrongPrefix(s string) error {
	for _, other := range []form{paperForm, shareForm} {
		if other.name != f.name && strings.HasPrefix(s, other.tag()) {
			return fmt.Errorf("%w: this is a %s", f.notThis, other.name)
		}
	}
	family := strings.TrimRight(f.tag(), "0123456789")
	if v, ok := strings.CutPrefix(s, family); ok && v != "" && v[0] >= '0' && v[0] <= '9' {
		return fmt.Errorf("%w: it is of a version this cairn does not read (it reads %s)", f.notThis, f.prefix)
	}
	return fmt.Errorf("%w: it should begin with %s", f.notThis, f.prefix)
}

// canonical maps the body onto the alphabet (i and l to 1, o to 0) or
// names the first character that has no place in it.
func (f form) canonical(body string) (string, error) {
	out := make([]byte, 0, len(body))
	for i, r := range []rune(body) {
		switch {
		case r == 'i' || r == 'l':
			r = '1'
		case r == 'o':
			r = '0'
		case r > unicode.MaxASCII || strings.IndexByte(alphabet, byte(r)) < 0:
			return "", fmt.Errorf("%w: %q in group %d, position %d: a %s is written with 0-9 and a-z without u",
				ErrCharacter, r, i/groupSize+1, i%groupSize+1, f.name)
		}
		out = append(out, byte(r))
	}
	return string(out), nil
}

// open decodes a canonical body of the right length and checks it.
func (f form) open(canon string) ([]byte, bool) {
	full, err := b32.DecodeString(canon)
	if err != nil || b32.EncodeToString(full) != canon { // unused low bits set
		return nil, false
	}
	payload, sum := full[:f.size], full[f.size:]
	return payload, bytes.Equal(sum, f.checksum(payload))
}

// mismatch explains a checksum failure, naming where to look when every
// single-character fix or neighbour swap that would pass the checksum
// lies in one group (or in the two groups a swap across a dash touches).
func (f form) mismatch(canon string) error {
	places := map[string]bool{}
	try := func(s []byte, i, j int) {
		if _, ok := f.open(string(s)); ok {
			places[groupsAt(i, j)] = true
		}
	}
	s := []byte(canon)
	for i, orig := range s {
		for _, c := range []byte(alphabet) {
			if c != orig {
				s[i] = c
				try(s, i, i)
			}
		}
		s[i] = orig
	}
	for i := 0; i+1 < len(s); i++ {
		if s[i] != s[i+1] {
			s[i], s[i+1] = s[i+1], s[i]
			try(s, i, i+1)
			s[i], s[i+1] = s[i+1], s[i]
		}
	}
	if len(places) == 1 {
		for p := range places {
			return fmt.Errorf("%w: a character is mistyped or two are swapped; check %s after %s", ErrChecksum, p, f.prefix)
		}
	}
	return fmt.Errorf("%w: a character is mistyped or two are swapped; check every group", ErrChecksum)
}

// groupsAt names the groups that hold characters i and j.
func groupsAt(i, j int) string {
	gi, gj := i/groupSize+1, j/groupSize+1
	if gi == gj {
		return fmt.Sprintf("group %d", gi)
	}
	return fmt.Sprintf("groups %d and %d", gi, gj)
}
