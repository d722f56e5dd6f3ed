package paperkey

import (
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func randomSecret(t testing.TB) [32]byte {
	var s [32]byte
	if _, err := rand.Read(s[:]); err != nil {
		t.Fatal(err)
	}
	return s
}

// body returns a paper key's characters after the prefix, without dashes.
func body(text string) []byte {
	return []byte(strings.ReplaceAll(strings.TrimPrefix(text, paperForm.prefix), "-", ""))
}

func TestPaperKeyRoundTrip(t *testing.T) {
	shape := regexp.MustCompile(`^cairn-key1-([0-9a-hjkmnp-tv-z]{5}-){11}[0-9a-hjkmnp-tv-z]{3}$`)
	for _, secret := range [][32]byte{{}, {0: 1, 31: 0xff}, randomSecret(t), randomSecret(t)} {
		text := Encode(secret)
		if !shape.MatchString(text) {
			t.Errorf("paper key %q is not the prefix and 58 characters in groups of five", text)
		}
		got, err := Decode(text)
		if err != nil || got != secret {
			t.Errorf("Decode(Encode(%x)) = %x, %v", secret, got, err)
		}
	}
}

// TestPaperKeyForgiving: case, spaces, newlines, missing dashes and the
// look-alikes i, l and o do not matter.
func TestPaperKeyForgiving(t *testing.T) {
	secret := randomSecret(t)
	text := Encode(secret)
	for name, typed := range map[string]string{
		"upper case":     strings.ToUpper(text),
		"spaces":         strings.ReplaceAll(text, "-", " "),
		"lines":          strings.ReplaceAll(text, "-", "\n") + "\n",
		"no dashes":      strings.ReplaceAll(text, "-", ""),
		"tabs and space": "  " + strings.ReplaceAll(text, "-", "\t- ") + "\r\n",
		"look-alikes":    paperForm.prefix + strings.NewReplacer("0", "O", "1", "l").Replace(strings.TrimPrefix(text, paperForm.prefix)),
		"i for one":      paperForm.prefix + strings.ReplaceAll(strings.TrimPrefix(text, paperForm.prefix), "1", "I"),
	} {
		got, err := Decode(typed)
		if err != nil || got != secret {
			t.Errorf("%s: Decode(%q) = %v, want the secret back", name, typed, err)
		}
	}
}

// TestPaperKeyEverySubstitutionCaught: every single-character mistake at
// every position fails the checksum; for one mistake per position (the
// search for the culprit costs a few thousand hashes) the error names the
// group of the mistake.
func TestPaperKeyEverySubstitutionCaught(t *testing.T) {
	for range 3 {
		chars := body(Encode(randomSecret(t)))
		for i, orig := range chars {
			for k, c := range []byte(alphabet) {
				if c == orig {
					continue
				}
				typo := append([]byte(nil), chars...)
				typo[i] = c
				if _, ok := paperForm.open(string(typo)); ok {
					t.Fatalf("%q for %q at %d passes the checksum", c, orig, i)
				}
				if k != (i+1)%len(alphabet) {
					continue
				}
				_, err := Decode(paperForm.prefix + string(typo))
				if want := fmt.Sprintf("check group %d ", i/groupSize+1); !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), want) {
					t.Fatalf("%q for %q at %d: got %v, want ErrChecksum saying %q", c, orig, i, err, want)
				}
			}
		}
	}
}

// TestPaperKeyTranspositionCaught: swapping any two different neighbours
// fails the checksum, naming the group or groups they stand in.
func TestPaperKeyTranspositionCaught(t *testing.T) {
	for range 3 {
		chars := body(Encode(randomSecret(t)))
		for i := 0; i+1 < len(chars); i++ {
			if chars[i] == chars[i+1] {
				continue
			}
			typo := append([]byte(nil), chars...)
			typo[i], typo[i+1] = typo[i+1], typo[i]
			_, err := Decode(paperForm.prefix + string(typo))
			if !errors.Is(err, ErrChecksum) {
				t.Fatalf("swap at %d: got %v, want ErrChecksum", i, err)
			}
			want := groupsAt(i, i+1)
			if !strings.Contains(err.Error(), "check "+want+" ") {
				t.Errorf("swap at %d: %q does not say %q", i, err, want)
			}
		}
	}
}

// TestPaperKeyErrors: each kind of wrong text gets its own error, saying
// what is wrong and where.
func TestPaperKeyErrors(t *testing.T) {
	text := Encode(randomSecret(t))
	chars := string(body(text))
	share, err := Split(randomSecret(t), 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, text string
		err        error
		says       string
	}{
		{"empty", "", ErrNotPaperKey, "should begin with cairn-key1-"},
		{"other text", "hello world", ErrNotPaperKey, "should begin with cairn-key1-"},
		{"a share", share[0], ErrNotPaperKey, "this is a key share"},
		{"a newer version", "cairn-key2-" + chars, ErrNotPaperKey, "version"},
		{"a group missing", paperForm.prefix + chars[5:], ErrLength, "53 characters, a paper key has 58: a group missing?"},
		{"one too many", text + "x", ErrLength, "59 characters, a paper key has 58: extra"},
		{"a u", paperForm.prefix + chars[:7] + "u" + chars[8:], ErrCharacter, `'u' in group 2, position 3`},
		{"punctuation", paperForm.prefix + chars[:20] + "." + chars[21:], ErrCharacter, `'.' in group 5, position 1`},
		{"not ascii", paperForm.prefix + "é" + chars[1:], ErrCharacter, `'é' in group 1, position 1`},
	} {
		_, err := Decode(c.text)
		if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: got %v, want %v saying %q", c.name, err, c.err, c.says)
		}
	}
}

// TestPaperKeyUnusedBitsMustBeZero: the last character carries two unused
// bits; a last character that sets them is a mistake, not the same key.
func TestPaperKeyUnusedBitsMustBeZero(t *testing.T) {
	chars := body(Encode([32]byte{}))
	last := strings.IndexByte(alphabet, chars[len(chars)-1])
	chars[len(chars)-1] = alphabet[last|1]
	if _, err := Decode(paperForm.prefix + string(chars)); !errors.Is(err, ErrChecksum) {
		t.Errorf("unused bits set: got %v, want ErrChecksum", err)
	}
}

// FuzzDecode: no text makes Decode panic, and whatever it accepts encodes
// back to a key that decodes the same.
func FuzzDecode(f *testing.F) {
	f.Add(Encode([32]byte{}))
	f.Add(strings.ToUpper(Encode([32]byte{1, 2, 3})))
	f.Add("cairn-key1-")
	f.Add("cairn-share1-00000")
	f.Add("cairn key1 ioul- é\x00")
	f.Fuzz(func(t *testing.T, text string) {
		secret, err := Decode(text)
		if err != nil {
			return
		}
		if again, err := Decode(Encode(secret)); err != nil || again != secret {
			t.Fatalf("accepted %q, but its re-encoding decodes to %x, %v", text, again, err)
		}
	})
}
