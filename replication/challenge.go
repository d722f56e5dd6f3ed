package replication

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// Result is the outcome of one proof-of-storage challenge.
type Result uint8

// Challenge outcomes. The zero value means "never challenged".
const (
	ResultNone    Result = iota
	ResultPass           // digest matched the challenger's own copy
	ResultFail           // digest did not match
	ResultTimeout        // no answer before the deadline
	ResultRefused        // the holder said it does not have the object
)

// String returns the result as one lowercase word.
func (r Result) String() string {
	names := [...]string{"none", "pass", "fail", "timeout", "refused"}
	if int(r) < len(names) {
		return names[r]
	}
	return fmt.Sprintf("result(%d)", r)
}

// Reason explains a result in words for status output; empty for pass.
func (r Result) Reason() string {
	switch r {
	case ResultFail:
		return "challenge failed: digest mismatch"
	case ResultTimeout:
		return "challenge timed out: no answer before the deadline"
	case ResultRefused:
		return "challenge refused: holder does not have the object"
	}
	return ""
}

const (
	maxChallengeLeaves = 64
	challengeVersion   = 1
	responseVersion    = 1
	digestLabel        = "cairn/challenge/v1\x00"
)

// ErrRateLimited is returned for challenges beyond a peer's allowance.
var ErrRateLimited = errors.New("replication: challenge rate limit exceeded")

// ChallengeID identifies a challenge at its challenger; drawn at random.
type ChallengeID uint64

// Challenge asks Holder to prove it stores Object: it must answer with
// Digest(Nonce, blocks at Leaves) before Deadline.
type Challenge struct {
	ID       ChallengeID
	Object   ObjectID
	Holder   PeerID // addressee; not encoded, the node sends to it
	Nonce    [32]byte
	Leaves   []int // indices into the object's block list, ascending, distinct
	IssuedAt time.Time
	Deadline time.Time
}

// Response answers a challenge: either Refused or a Digest.
type Response struct {
	ID      ChallengeID
	Refused bool
	Digest  [32]byte // zero when Refused
}

// Digest is what both sides compute for a challenge: SHA-256 over a label,
// the nonce, and each chosen block's length (8 bytes, big endian) and
// bytes, in the order of the challenge's leaves.
func Digest(nonce [32]byte, blocks [][]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(digestLabel))
	h.Write(nonce[:])
	var n [8]byte
	for _, b := range blocks {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// MarshalBinary returns the canonical encoding of a challenge.
func (ch *Challenge) MarshalBinary() ([]byte, error) {
	if len(ch.Object) == 0 || len(ch.Object) > maxIDLen {
		return nil, fmt.Errorf("%w: object id length %d", ErrMalformed, len(ch.Object))
	}
	if err := checkLeaves(ch.Leaves); err != nil {
		return nil, err
	}
	b := []byte{challengeVersion}
	b = binary.AppendUvarint(b, uint64(ch.ID))
	b = appendString(b, string(ch.Object))
	b = append(b, ch.Nonce[:]...)
	b = binary.AppendUvarint(b, uint64(len(ch.Leaves)))
	for _, l := range ch.Leaves {
		b = binary.AppendUvarint(b, uint64(l))
	}
	b = binary.AppendVarint(b, ch.IssuedAt.UnixMilli())
	return binary.AppendVarint(b, ch.Deadline.UnixMilli()), nil
}

func checkLeaves(leaves []int) error {
	if len(leaves) == 0 || len(leaves) > maxChallengeLeaves {
		return fmt.Errorf("%w: %d leaves", ErrMalformed, len(leaves))
	}
	for i, l := range leaves {
		if l < 0 || l >= maxLeaves || (i > 0 && leaves[i-1] >= l) {
			return fmt.Errorf("%w: leaves not ascending and distinct", ErrMalformed)
		}
	}
	return nil
}

// DecodeChallenge parses untrusted bytes; only canonical encodings pass.
func DecodeChallenge(data []byte) (Challenge, error) {
	r := reader{buf: data}
	var ch Challenge
	if v := r.byte(); v != challengeVersion {
		return ch, fmt.Errorf("%w: challenge version %d", ErrMalformed, v)
	}
	ch.ID = ChallengeID(r.uvarint())
	ch.Object = ObjectID(r.string())
	copy(ch.Nonce[:], r.bytes(len(ch.Nonce)))
	n := r.int(maxChallengeLeaves)
	for range n {
		ch.Leaves = append(ch.Leaves, r.int(maxLeaves-1))
	}
	ch.IssuedAt, ch.Deadline = r.time(), r.time()
	if r.err == nil && len(r.buf) != 0 {
		r.fail("trailing data")
	}
	if r.err != nil {
		return Challenge{}, r.err
	}
	again, err := ch.MarshalBinary()
	if err != nil {
		return Challenge{}, err
	}
	if !bytes.Equal(again, data) {
		return Challenge{}, fmt.Errorf("%w: challenge not canonical", ErrMalformed)
	}
	return ch, nil
}

// MarshalBinary returns the canonical encoding of a response.
func (r *Response) MarshalBinary() ([]byte, error) {
	b := binary.AppendUvarint([]byte{responseVersion}, uint64(r.ID))
	if r.Refused {
		return append(b, 1), nil
	}
	return append(append(b, 0), r.Digest[:]...), nil
}

// DecodeResponse parses untrusted bytes; only canonical encodings pass.
func DecodeResponse(data []byte) (Response, error) {
	r := reader{buf: data}
	var resp Response
	if v := r.byte(); v != responseVersion {
		return resp, fmt.Errorf("%w: response version %d", ErrMalformed, v)
	}
	resp.ID = ChallengeID(r.uvarint())
	switch r.byte() {
	case 1:
		resp.Refused = true
		r.rest(0)
	case 0:
		copy(resp.Digest[:], r.rest(len(resp.Digest)))
	default:
		r.fail("response kind")
	}
	if r.err != nil {
		return Response{}, r.err
	}
	if again, _ := resp.MarshalBinary(); !bytes.Equal(again, data) {
		return Response{}, fmt.Errorf("%w: response not canonical", ErrMalformed)
	}
	return resp, nil
}

// pickLeaves draws k distinct indices below n from rnd, ascending.
func pickLeaves(rnd io.Reader, n, k int) ([]int, error) {
	if n <= k {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	seen := make(map[int]bool, k)
	for len(seen) < k {
		v, err := randUint64(rnd)
		if err != nil {
			return nil, err
		}
		seen[int(v%uint64(n))] = true
	}
	out := make([]int, 0, k)
	for l := range seen {
		out = append(out, l)
	}
	slices.Sort(out)
	return out, nil
}

func randUint64(rnd io.Reader) (uint64, error) {
	var b [8]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return 0, fmt.Errorf("read randomness: %w", err)
	}
	return binary.BigEndian.Uint64(b[:]), nil
}

// limiter is a per-peer token bucket over the caller's clock, whose rate
// and burst the caller gives with each request.
type limiter struct {
	buckets map[PeerID]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter() *limiter {
	return &limiter{buckets: map[PeerID]*bucket{}}
}

// allow takes one token from peer's bucket if it has one; the bucket
// refills at rate per second up to burst.
func (l *limiter) allow(peer PeerID, now time.Time, rate, burst float64) bool {
	b := l.buckets[peer]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		l.buckets[peer] = b
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(burst, b.tokens+dt*rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
