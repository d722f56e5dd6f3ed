// Package sizeguess is the size-guessing attack on stored objects, as a
// curious storage peer would run it: from a file it has, compute the
// block sizes an owner's object of that file would store, and compare
// them with the sizes of the blocks it holds. Cairn's tests use it to show
// that the attack finds nothing (see docs/encryption.md); no part of the
// cairn binary does.
package sizeguess

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/cairn-fed/cairn/internal/chunker"
)

// PublicChunks returns the chunk sizes of data cut with the public gear
// table and the default sizes: what anyone computes from a guessed file.
func PublicChunks(data []byte) ([]int, error) {
	c := chunker.New(bytes.NewReader(data), chunker.DefaultConfig())
	var sizes []int
	for {
		chunk, err := c.Next(nil)
		if errors.Is(err, io.EOF) {
			return sizes, nil
		}
		if err != nil {
			return nil, fmt.Errorf("chunk the guessed file: %w", err)
		}
		sizes = append(sizes, len(chunk))
	}
}

// Map applies f to every size.
func Map(sizes []int, f func(int) int) []int {
	out := make([]int, len(sizes))
	for i, s := range sizes {
		out[i] = f(s)
	}
	return out
}

// Matching counts the sizes in stored that also appear in guess.
func Matching(stored, guess []int) int {
	n := 0
	for _, s := range stored {
		if slices.Contains(guess, s) {
			n++
		}
	}
	return n
}

// LongestRun is the length of the longest run of consecutive sizes that a
// and b both contain: a whole file's run when a guess is right.
func LongestRun(a, b []int) int {
	best := 0
	prev := make([]int, len(b)+1)
	for i := range a {
		cur := make([]int, len(b)+1)
		for j := range b {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
				best = max(best, cur[j+1])
			}
		}
		prev = cur
	}
	return best
}
