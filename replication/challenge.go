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

// MaxItemLeaves bounds the blocks one item of a challenge may ask for.
const MaxItemLeaves = maxChallengeLeaves

const (
	maxChallengeLeaves = 64
	// maxChallengeBlocks bounds the blocks one challenge makes the holder
	// read: every item at ChallengeLeaves' default.
	maxChallengeBlocks = 4 * MaxChallengeItems
	// MaxChallengeItems bounds the copies one challenge covers: a round
	// of a sample plus the copies queued since the last one.
	MaxChallengeItems = 1024
	challengeVersion  = 2
	responseVersion   = 2
	digestLabel       = "cairn/challenge/v1\x00"
)

// ErrRateLimited is returned for challenges beyond a peer's allowance.
var ErrRateLimited = errors.New("replication: challenge rate limit exceeded")

// ChallengeID identifies a challenge at its challenger; drawn at random.
type ChallengeID uint64

// Challenge asks Holder to prove it stores the copies named by Items, in
// one exchange: a round of the pair (challenger, holder). For each item
// it must answer Digest(Nonce, the item's blocks at its Leaves) before
// Deadline.
type Challenge struct {
	ID     ChallengeID
	Holder PeerID // addressee; not encoded, the node sends to it
	Nonce  [32]byte
	Items  []Item // sorted by object, distinct
	// Sampled says the challenger drew some items at random among every
	// copy it shares with Holder, so that a round passed in full vouches
	// for the unsampled ones too (see Statement). Not encoded: the holder
	// must not know which items are the sample.
	Sampled  bool
	IssuedAt time.Time
	Deadline time.Time
}

// Item is one copy a challenge covers: blocks of Object by index into the
// object's block list, ascending and distinct.
type Item struct {
	Object ObjectID
	Leaves []int
}

// Response answers a challenge: one Answer per item, in order.
type Response struct {
	ID      ChallengeID
	Answers []Answer
}

// Answer is the holder's word on one item: Refused (it has no copy), or
// the Digest of the item's blocks.
type Answer struct {
	Refused bool
	Digest  [32]byte // zero when Refused
}

// Digest is what both sides compute for an item: SHA-256 over a label,
// the nonce, and each chosen block's length (8 bytes, big endian) and
// bytes, in the order of the item's leaves.
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
	if err := checkItems(ch.Items); err != nil {
		return nil, err
	}
	b := []byte{challengeVersion}
	b = binary.AppendUvarint(b, uint64(ch.ID))
	b = append(b, ch.Nonce[:]...)
	b = binary.AppendUvarint(b, uint64(len(ch.Items)))
	for _, it := range ch.Items {
		b = appendString(b, string(it.Object))
		b = binary.AppendUvarint(b, uint64(len(it.Leaves)))
		for _, l := range it.Leaves {
			b = binary.AppendUvarint(b, uint64(l))
		}
	}
	b = binary.AppendVarint(b, ch.IssuedAt.UnixMilli())
	return binary.AppendVarint(b, ch.Deadline.UnixMilli()), nil
}

func checkItems(items []Item) error {
	if len(items) == 0 || len(items) > MaxChallengeItems {
		return fmt.Errorf("%w: %d items", ErrMalformed, len(items))
	}
	blocks := 0
	for i, it := range items {
		if blocks += len(it.Leaves); blocks > maxChallengeBlocks {
			return fmt.Errorf("%w: more than %d blocks", ErrMalformed, maxChallengeBlocks)
		}
		if len(it.Object) == 0 || len(it.Object) > maxIDLen {
			return fmt.Errorf("%w: object id length %d", ErrMalformed, len(it.Object))
		}
		if i > 0 && items[i-1].Object >= it.Object {
			return fmt.Errorf("%w: items not sorted and distinct", ErrMalformed)
		}
		if err := checkLeaves(it.Leaves); err != nil {
			return err
		}
	}
	return nil
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
	copy(ch.Nonce[:], r.bytes(len(ch.Nonce)))
	n := r.int(MaxChallengeItems)
	for range n {
		if r.err != nil {
			break
		}
		it := Item{Object: ObjectID(r.string())}
		k := r.int(maxChallengeLeaves)
		for range k {
			it.Leaves = append(it.Leaves, r.int(maxLeaves-1))
		}
		ch.Items = append(ch.Items, it)
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
	if len(r.Answers) == 0 || len(r.Answers) > MaxChallengeItems {
		return nil, fmt.Errorf("%w: %d answers", ErrMalformed, len(r.Answers))
	}
	b := binary.AppendUvarint([]byte{responseVersion}, uint64(r.ID))
	b = binary.AppendUvarint(b, uint64(len(r.Answers)))
	for _, a := range r.Answers {
		if a.Refused {
			b = append(b, 1)
			continue
		}
		b = append(append(b, 0), a.Digest[:]...)
	}
	return b, nil
}

// DecodeResponse parses untrusted bytes; only canonical encodings pass.
func DecodeResponse(data []byte) (Response, error) {
	r := reader{buf: data}
	var resp Response
	if v := r.byte(); v != responseVersion {
		return resp, fmt.Errorf("%w: response version %d", ErrMalformed, v)
	}
	resp.ID = ChallengeID(r.uvarint())
	n := r.int(MaxChallengeItems)
	for range n {
		var a Answer
		switch r.byte() {
		case 1:
			a.Refused = true
		case 0:
			copy(a.Digest[:], r.bytes(len(a.Digest)))
		default:
			r.fail("answer kind")
		}
		if r.err != nil {
			break
		}
		resp.Answers = append(resp.Answers, a)
	}
	if r.err == nil && len(r.buf) != 0 {
		r.fail("trailing data")
	}
	if r.err != nil {
		return Response{}, r.err
	}
	if again, err := resp.MarshalBinary(); err != nil || !bytes.Equal(again, data) {
		return Response{}, fmt.Errorf("%w: response not canonical", ErrMalformed)
	}
	return resp, nil
}

// pickLeaves draws k distinct block indices below n from rnd, ascending.
func pickLeaves(rnd io.Reader, n, k int) ([]int, error) { return distinctBelow(rnd, n, k) }

// complementBelow returns, ascending, the integers below n not in the
// ascending list skip.
func complementBelow(n int, skip []int) []int {
	out := make([]int, 0, n-len(skip))
	for i := range n {
		if len(skip) > 0 && skip[0] == i {
			skip = skip[1:]
			continue
		}
		out = append(out, i)
	}
	return out
}

// distinctBelow draws k distinct integers below n from rnd, ascending.
func distinctBelow(rnd io.Reader, n, k int) ([]int, error) {
	if k >= n {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	if k > n/2 { // draw the ones left out instead: fewer repeats
		out, err := distinctBelow(rnd, n, n-k)
		if err != nil {
			return nil, err
		}
		return complementBelow(n, out), nil
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
	credit uint64 // the credit counter seen last (see allowCredited)
}

func newLimiter() *limiter {
	return &limiter{buckets: map[PeerID]*bucket{}}
}

// allow takes n tokens from peer's bucket if it has them; the bucket
// refills at rate per second up to burst.
func (l *limiter) allow(peer PeerID, now time.Time, rate, burst, n float64) bool {
	return l.allowCredited(peer, now, rate, burst, n, 0)
}

// allowCredited is allow where the bucket also gains a token for each
// step of credit, a counter the caller only ever increases, since the
// peer's previous request (still up to burst).
func (l *limiter) allowCredited(peer PeerID, now time.Time, rate, burst, n float64, credit uint64) bool {
	b := l.buckets[peer]
	if b == nil {
		b = &bucket{tokens: burst, last: now, credit: credit}
		l.buckets[peer] = b
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(burst, b.tokens+dt*rate)
		b.last = now
	}
	if credit > b.credit {
		b.tokens = min(burst, b.tokens+float64(credit-b.credit))
		b.credit = credit
	}
	if b.tokens < n {
		return false
	}
	b.tokens -= n
	return true
}
