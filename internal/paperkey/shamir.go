package paperkey

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"lukechampine.com/blake3"
)

// Errors of Split and Combine; the errors returned wrap them and name the
// shares concerned, 1-based in the order given.
var (
	// ErrParameters: Split's counts are out of range.
	ErrParameters = errors.New("paperkey: invalid split")
	// ErrMixedSplits: the shares come from different Split calls.
	ErrMixedSplits = errors.New("paperkey: shares of different splits")
	// ErrTooFewShares: fewer shares than the split's threshold.
	ErrTooFewShares = errors.New("paperkey: too few shares")
	// ErrDuplicateShare: one share, or one share index, given twice.
	ErrDuplicateShare = errors.New("paperkey: a share given twice")
	// ErrCorruptShare: shares that pass their checksums disagree, or
	// combine to a secret that fails the check value they carry.
	ErrCorruptShare = errors.New("paperkey: corrupt share")
)

// MaxShares is the most shares one split makes: a share's index is a
// nonzero element of GF(256).
const MaxShares = 255

const (
	setIDSize = 8
	checkSize = 4
)

// shareForm is a key share: set ID, threshold, index, the 32 share bytes
// and the secret's check value.
var shareForm = form{prefix: "cairn-share1-", name: "key share", size: setIDSize + 2 + 32 + checkSize, notThis: ErrNotShare}

// share is one decoded share.
type share struct {
	set       [setIDSize]byte // random per Split call
	threshold byte            // K: how many shares restore the secret
	x         byte            // the index, 1..255, where the polynomials were evaluated
	y         [32]byte        // one polynomial's value per secret byte
	check     [checkSize]byte // checkValue of the secret
}

func (s share) encode() string {
	p := append(s.set[:], s.threshold, s.x)
	p = append(p, s.y[:]...)
	return shareForm.encode(append(p, s.check[:]...))
}

func decodeShare(text string) (share, error) {
	var s share
	p, err := shareForm.decode(text)
	if err != nil {
		return s, err
	}
	copy(s.set[:], p)
	s.threshold, s.x = p[setIDSize], p[setIDSize+1]
	copy(s.y[:], p[setIDSize+2:])
	copy(s.check[:], p[setIDSize+2+32:])
	if s.threshold < 2 || s.x == 0 { // no Split writes these
		return s, fmt.Errorf("%w: threshold %d, index %d", ErrCorruptShare, s.threshold, s.x)
	}
	return s, nil
}

// checkValue lets Combine tell a right result from a wrong one. It gives
// those holding fewer than K shares 32 bits of a 256-bit secret's hash,
// which does not help them guess the secret.
func checkValue(secret [32]byte) [checkSize]byte {
	var out [checkSize]byte
	blake3.DeriveKey(out[:], "cairn 2026 key share check v1", secret[:])
	return out
}

// Split cuts the secret into shares, any threshold of which restore it
// with Combine while fewer tell nothing about it. 2 <= threshold <=
// shares <= MaxShares: a threshold of 1 would make every share the secret
// itself, which is what the paper key is for.
func Split(secret [32]byte, shares, threshold int) ([]string, error) {
	return split(rand.Reader, secret, shares, threshold)
}

// split takes its randomness from r: the set ID, then the polynomials'
// coefficients, byte by byte, from x^1 up.
func split(r io.Reader, secret [32]byte, shares, threshold int) ([]string, error) {
	if err := validateSplit(shares, threshold); err != nil {
		return nil, err
	}
	s := share{threshold: byte(threshold), check: checkValue(secret)}
	coeffs := make([][32]byte, threshold)
	coeffs[0] = secret
	if _, err := io.ReadFull(r, s.set[:]); err != nil {
		return nil, fmt.Errorf("split: read random set ID: %w", err)
	}
	for i := 1; i < threshold; i++ {
		if _, err := io.ReadFull(r, coeffs[i][:]); err != nil {
			return nil, fmt.Errorf("split: read random coefficients: %w", err)
		}
	}
	out := make([]string, shares)
	for i := range out {
		s.x = byte(i + 1)
		s.y = evaluate(coeffs, s.x)
		out[i] = s.encode()
	}
	return out, nil
}

func validateSplit(shares, threshold int) error {
	switch {
	case threshold < 2:
		return fmt.Errorf("%w: threshold %d: it must be at least 2 (for one copy of the key, use the paper key)", ErrParameters, threshold)
	case shares > MaxShares:
		return fmt.Errorf("%w: %d shares: at most %d", ErrParameters, shares, MaxShares)
	case threshold > shares:
		return fmt.Errorf("%w: threshold %d is more than the %d shares", ErrParameters, threshold, shares)
	}
	return nil
}

// evaluate computes, for every byte of the secret, its polynomial (the
// coefficients' bytes at that position, constant term first) at x, by
// Horner's rule.
func evaluate(coeffs [][32]byte, x byte) [32]byte {
	var y [32]byte
	for i := len(coeffs) - 1; i >= 0; i-- {
		for b := range y {
			y[b] = mul(y[b], x) ^ coeffs[i][b]
		}
	}
	return y
}

// interpolate returns, for every byte, the value at x of the polynomial
// through the points (xs[i], ys[i][byte]); the xs are distinct.
func interpolate(xs []byte, ys [][32]byte, x byte) [32]byte {
	var out [32]byte
	for i, xi := range xs {
		basis := byte(1) // the Lagrange basis polynomial of point i, at x
		for j, xj := range xs {
			if j != i {
				basis = mul(basis, mul(x^xj, inv(xi^xj)))
			}
		}
		for b := range out {
			out[b] ^= mul(basis, ys[i][b])
		}
	}
	return out
}

// Combine restores the secret from shares of one Split, at least its
// threshold of them. It refuses shares of different splits, the same
// share twice and too few shares, and checks the result against the
// check value every share carries. Errors name the shares concerned,
// 1-based in the order given.
func Combine(texts []string) ([32]byte, error) {
	var secret [32]byte
	if len(texts) == 0 {
		return secret, fmt.Errorf("%w: no shares given", ErrTooFewShares)
	}
	shares := make([]share, len(texts))
	for i, t := range texts {
		s, err := decodeShare(t)
		if err != nil {
			return secret, fmt.Errorf("share %d: %w", i+1, err)
		}
		shares[i] = s
	}
	if err := consistent(shares); err != nil {
		return secret, err
	}
	if k := int(shares[0].threshold); len(shares) < k {
		return secret, fmt.Errorf("%w: %s given; this split needs %d", ErrTooFewShares, count(len(shares), "share"), k)
	}
	xs, ys := make([]byte, len(shares)), make([][32]byte, len(shares))
	for i, s := range shares {
		xs[i], ys[i] = s.x, s.y
	}
	secret = interpolate(xs, ys, 0)
	if checkValue(secret) != shares[0].check {
		return [32]byte{}, fmt.Errorf("%w: the shares combine to a key that fails their check value: one was altered", ErrCorruptShare)
	}
	return secret, nil
}

// consistent checks that the shares come from one split, each once.
func consistent(shares []share) error {
	first := shares[0]
	for i, s := range shares {
		switch {
		case s.set != first.set:
			return fmt.Errorf("%w: shares 1 and %d come from different splits (sets %s and %s): use shares of one split",
				ErrMixedSplits, i+1, setName(first.set), setName(s.set))
		case s.threshold != first.threshold || s.check != first.check:
			return fmt.Errorf("%w: shares 1 and %d are of one split but disagree on its threshold or check value", ErrCorruptShare, i+1)
		}
		for j, t := range shares[:i] {
			if t.x != s.x {
				continue
			}
			if t.y == s.y {
				return fmt.Errorf("%w: shares %d and %d are the same share (number %d of the split); give each once", ErrDuplicateShare, j+1, i+1, s.x)
			}
			return fmt.Errorf("%w: shares %d and %d both say they are number %d of the split, but differ", ErrDuplicateShare, j+1, i+1, s.x)
		}
	}
	return nil
}

// count writes n things, in the plural unless n is 1.
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// setName shows a set ID as people compare it: its first bytes.
func setName(set [setIDSize]byte) string { return hex.EncodeToString(set[:4]) + "…" }

// FindShares cuts text holding several shares (one per line, separated
// by spaces, or run together) into one text per share, each beginning at
// a share prefix. Text before the first prefix comes back as a share of
// its own, so that Combine reports it rather than dropping it.
func FindShares(text string) []string {
	s, tag := normalize(text), shareForm.tag()
	var out []string
	for s != "" {
		next := strings.Index(s[1:], tag)
		if next < 0 {
			return append(out, s)
		}
		out, s = append(out, s[:next+1]), s[next+1:]
	}
	return out
}
