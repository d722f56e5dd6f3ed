package paperkey

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// fixedRandom gives a set ID of 8 bytes, then every coefficient byte c.
func fixedRandom(set byte, c byte) *bytes.Reader {
	b := bytes.Repeat([]byte{set}, setIDSize)
	return bytes.NewReader(append(b, bytes.Repeat([]byte{c}, 32*254)...))
}

func mustDecodeShare(t *testing.T, text string) share {
	t.Helper()
	s, err := decodeShare(text)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSplitKnownAnswers: with the coefficients fixed at 0x57, the share
// bytes are the secret's XOR the products FIPS-197 works out by hand.
func TestSplitKnownAnswers(t *testing.T) {
	secret := randomSecret(t)
	xor := func(k byte) (out [32]byte) {
		for i := range out {
			out[i] = secret[i] ^ k
		}
		return out
	}
	// K = 2: y(x) = s + 0x57·x.
	shares, err := split(fixedRandom(0xaa, 0x57), secret, 0x83, 2)
	if err != nil {
		t.Fatal(err)
	}
	for x, want := range map[int][32]byte{1: xor(0x57), 2: xor(0xae), 4: xor(0x47), 0x13: xor(0xfe), 0x83: xor(0xc1)} {
		s := mustDecodeShare(t, shares[x-1])
		if s.x != byte(x) || s.y != want || s.threshold != 2 || s.set != [8]byte{0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa} || s.check != checkValue(secret) {
			t.Errorf("K=2, share %d: x %d, y %x, threshold %d, set %x; want y %x", x, s.x, s.y, s.threshold, s.set, want)
		}
	}
	// K = 3: y(x) = s + 0x57·x + 0x57·x², so y(1) = s, y(2) = s + 0xae + 0x47.
	shares, err = split(fixedRandom(0xbb, 0x57), secret, 3, 3)
	if err != nil {
		t.Fatal(err)
	}
	if y := mustDecodeShare(t, shares[0]).y; y != secret {
		t.Errorf("K=3, share 1: %x, want the secret %x", y, secret)
	}
	if y := mustDecodeShare(t, shares[1]).y; y != xor(0xae^0x47) {
		t.Errorf("K=3, share 2: %x, want %x", y, xor(0xae^0x47))
	}
	if got, err := Combine(shares); err != nil || got != secret {
		t.Errorf("K=3: Combine = %x, %v; want the secret", got, err)
	}
}

// TestInterpolateKnownAnswer: the line through (1, 0x57·1) and (2, 0x57·2),
// y = 0x57·x, is 0 at 0 and 0xc1 at 0x83.
func TestInterpolateKnownAnswer(t *testing.T) {
	var y1, y2 [32]byte
	for i := range y1 {
		y1[i], y2[i] = 0x57, 0xae
	}
	if got := interpolate([]byte{1, 2}, [][32]byte{y1, y2}, 0); got != [32]byte{} {
		t.Errorf("at 0: %x, want zeros", got)
	}
	if got := interpolate([]byte{1, 2}, [][32]byte{y1, y2}, 0x83); got[0] != 0xc1 || got[31] != 0xc1 {
		t.Errorf("at 0x83: %x, want 0xc1 everywhere", got)
	}
}

// subsets calls f with every subset of n indexes, as a list.
func subsets(n int, f func([]int)) {
	for mask := 1; mask < 1<<n; mask++ {
		var pick []int
		for i := range n {
			if mask>>i&1 == 1 {
				pick = append(pick, i)
			}
		}
		f(pick)
	}
}

func pickShares(shares []string, pick []int) []string {
	out := make([]string, len(pick))
	for i, p := range pick {
		out[len(pick)-1-i] = shares[p] // reversed: order does not matter
	}
	return out
}

// TestSplitCombineEverySubset: for every K-of-N with N up to 7, every
// subset of at least K shares restores the secret, and every smaller one
// is refused as too few.
func TestSplitCombineEverySubset(t *testing.T) {
	for n := 2; n <= 7; n++ {
		for k := 2; k <= n; k++ {
			secret := randomSecret(t)
			shares, err := Split(secret, n, k)
			if err != nil || len(shares) != n {
				t.Fatalf("%d-of-%d: %d shares, %v", k, n, len(shares), err)
			}
			subsets(n, func(pick []int) {
				got, err := Combine(pickShares(shares, pick))
				switch {
				case len(pick) >= k && (err != nil || got != secret):
					t.Errorf("%d-of-%d, shares %v: %v, or not the secret", k, n, pick, err)
				case len(pick) < k && !errors.Is(err, ErrTooFewShares):
					t.Errorf("%d-of-%d, shares %v: %v, want ErrTooFewShares", k, n, pick, err)
				}
			})
		}
	}
}

// TestFewerSharesFitAnySecret: K-1 shares say nothing about the secret.
// Whatever secret one guesses, some K-th share completes the K-1 to it, so
// every guess is as consistent with them as the truth.
func TestFewerSharesFitAnySecret(t *testing.T) {
	const k = 3
	shares, err := Split(randomSecret(t), 5, k)
	if err != nil {
		t.Fatal(err)
	}
	var xs []byte
	var ys [][32]byte
	for _, text := range shares[:k-1] {
		s := mustDecodeShare(t, text)
		xs, ys = append(xs, s.x), append(ys, s.y)
	}
	for _, guess := range [][32]byte{{}, {1}, randomSecret(t)} {
		third := interpolate(append([]byte{0}, xs...), append([][32]byte{guess}, ys...), 5)
		if got := interpolate(append(xs, 5), append(ys, third), 0); got != guess {
			t.Errorf("the K-1 shares and a made-up third do not restore the guess %x: %x", guess, got)
		}
	}
	if _, err := Combine(shares[:k-1]); !errors.Is(err, ErrTooFewShares) || !strings.Contains(err.Error(), "2 shares given; this split needs 3") {
		t.Errorf("K-1 shares: got %v, want ErrTooFewShares saying how many", err)
	}
}

// alter re-encodes a share changed by f, with a valid checksum: what a
// corrupt or forged share looks like once past its checksum.
func alter(t *testing.T, text string, f func(*share)) string {
	s := mustDecodeShare(t, text)
	f(&s)
	return s.encode()
}

// TestCombineErrors: each way to give wrong shares gets its own error,
// naming the shares concerned.
func TestCombineErrors(t *testing.T) {
	secret := randomSecret(t)
	a, err := Split(secret, 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Split(secret, 4, 3)
	chars := []byte(a[1])
	at := len(shareForm.prefix) + 8 // group 2, position 3
	chars[at] = alphabet[(strings.IndexByte(alphabet, chars[at])+1)%len(alphabet)]
	typo := string(chars)
	for _, c := range []struct {
		name   string
		shares []string
		err    error
		says   string
	}{
		{"none", nil, ErrTooFewShares, "no shares given"},
		{"a typo", []string{a[0], typo, a[2]}, ErrChecksum, "share 2: paperkey: checksum does not match: a character is mistyped or two are swapped; check group 2 after cairn-share1-"},
		{"a paper key", []string{a[0], Encode(secret), a[2]}, ErrNotShare, "share 2: paperkey: not a Cairn key share: this is a paper key"},
		{"mixed splits", []string{a[0], a[1], b[2]}, ErrMixedSplits, "shares 1 and 3 come from different splits (sets " + setName(mustDecodeShare(t, a[0]).set) + " and " + setName(mustDecodeShare(t, b[2]).set) + "): use shares of one split"},
		{"too few", a[:2], ErrTooFewShares, "2 shares given; this split needs 3"},
		{"the same twice", []string{a[0], a[1], a[0]}, ErrDuplicateShare, "shares 1 and 3 are the same share"},
		{"an index twice", []string{a[0], a[1], alter(t, a[0], func(s *share) { s.y[0]++ })}, ErrDuplicateShare, "shares 1 and 3 both say they are number 1"},
		{"altered bytes", []string{a[0], a[1], alter(t, a[2], func(s *share) { s.y[5] ^= 1 })}, ErrCorruptShare, "fails their check value"},
		{"altered threshold", []string{a[0], alter(t, a[1], func(s *share) { s.threshold = 2 }), a[2]}, ErrCorruptShare, "shares 1 and 2"},
		{"index zero", []string{a[0], alter(t, a[1], func(s *share) { s.x = 0 }), a[2]}, ErrCorruptShare, "share 2: "},
	} {
		got, err := Combine(c.shares)
		if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: got %v, want %v saying %q", c.name, err, c.err, c.says)
		}
		if got != [32]byte{} {
			t.Errorf("%s: a failed Combine returned key bytes", c.name)
		}
	}
}

// TestSplitParameters: thresholds and counts outside 2 <= K <= N <= 255
// are refused, naming the limit; the largest split works.
func TestSplitParameters(t *testing.T) {
	for _, c := range []struct {
		n, k int
		says string
	}{
		{5, 1, "at least 2"},
		{0, 0, "at least 2"},
		{3, 4, "threshold 4 is more than the 3 shares"},
		{256, 2, "at most 255"},
	} {
		if _, err := Split([32]byte{}, c.n, c.k); !errors.Is(err, ErrParameters) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Split(%d, %d): got %v, want ErrParameters saying %q", c.n, c.k, err, c.says)
		}
	}
	secret := randomSecret(t)
	shares, err := Split(secret, 255, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Combine([]string{shares[254], shares[0]}); err != nil || got != secret {
		t.Errorf("shares 255 and 1 of 255: %v, or not the secret", err)
	}
}

// TestFindShares: shares one per line, on one line, grouped by spaces or
// run together are found; text before them is kept for Combine to report.
func TestFindShares(t *testing.T) {
	secret := randomSecret(t)
	shares, _ := Split(secret, 3, 3)
	for name, text := range map[string]string{
		"lines":     strings.Join(shares, "\n") + "\n",
		"one line":  strings.Join(shares, " "),
		"spaced":    strings.ReplaceAll(strings.Join(shares, "\n\n"), "-", " "),
		"run on":    strings.ToUpper(strings.Join(shares, "")),
		"crlf, tab": "\t" + strings.Join(shares, "\r\n"),
	} {
		found := FindShares(text)
		if got, err := Combine(found); len(found) != 3 || err != nil || got != secret {
			t.Errorf("%s: found %d shares, %v", name, len(found), err)
		}
	}
	_, err := Combine(FindShares("my shares:\n" + strings.Join(shares, "\n")))
	if !errors.Is(err, ErrNotShare) || !strings.HasPrefix(err.Error(), "share 1: ") {
		t.Errorf("text before the shares: got %v, want share 1 not a share", err)
	}
	if got := FindShares(" \n"); len(got) != 0 {
		t.Errorf("blank text: found %q", got)
	}
}

// FuzzCombine: no text makes FindShares or Combine panic, and whatever
// Combine accepts came from shares that check out.
func FuzzCombine(f *testing.F) {
	shares, _ := split(fixedRandom(1, 2), [32]byte{3}, 3, 2)
	f.Add(shares[0], shares[1])
	f.Add(shares[0], shares[0])
	f.Add(strings.Join(shares, "\n"), "")
	f.Add("cairn-share1-", "cairn-key1-0000")
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, set := range [][]string{{a, b}, FindShares(a + "\n" + b)} {
			secret, err := Combine(set)
			if err == nil && checkValue(secret) != mustDecodeShare(t, set[0]).check {
				t.Fatalf("Combine(%q) accepted a secret that fails the check value", set)
			}
		}
	})
}

func ExampleSplit() {
	var secret [32]byte // the owner's master secret
	shares, _ := Split(secret, 5, 3)
	back, err := Combine([]string{shares[4], shares[0], shares[2]})
	fmt.Println(len(shares), back == secret, err)
	// Output: 5 true <nil>
}
