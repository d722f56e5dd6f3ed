package catalog

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func entry(id string, target int) Entry {
	return Entry{Object: id, Name: "name of " + id, Capability: "cairn1" + id, Root: []byte("root " + id),
		Target: target, Encrypted: true, Size: 100, AddedAt: t0}
}

// write runs a writer over a sequence of listings, one version a minute,
// and returns the chain it wrote, oldest first.
func write(t *testing.T, w *Writer, listings []Listing) []Version {
	t.Helper()
	var chain []Version
	for i, l := range listings {
		v, ok := w.Next(l, t0.Add(time.Duration(i+1)*time.Minute))
		if !ok {
			continue
		}
		data, err := v.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(data, "cat")
		if err != nil {
			t.Fatalf("version %d does not decode: %v", v.Seq, err)
		}
		w.Written(got, fmt.Sprintf("cap-%d", v.Seq), l)
		chain = append(chain, got)
	}
	return chain
}

// chainFrom walks back from the newest version the way a recovering node
// does, and returns the versions to replay, oldest first.
func chainFrom(chain []Version, at time.Time) []Version {
	i := len(chain) - 1
	for i > 0 && !chain[i].Reaches(at) {
		i--
	}
	return chain[i:]
}

func TestReplayGivesEveryListingAtItsTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cur := Listing{}
	var listings []Listing
	for step := range 200 {
		switch id := fmt.Sprintf("obj%02d", rng.IntN(40)); rng.IntN(4) {
		case 0, 1:
			cur[id] = entry(id, 1+rng.IntN(5))
		case 2:
			if e, ok := cur[id]; ok {
				at := t0.Add(time.Duration(step) * time.Second)
				e.DeletedAt = &at
				cur[id] = e
			}
		case 3:
			delete(cur, id)
		}
		listings = append(listings, cur.Clone())
	}
	chain := write(t, NewWriter("cat", WriterState{}, nil), listings)
	checkpoints := 0
	for i, v := range chain {
		if v.Checkpoint {
			checkpoints++
		}
		if i > 0 && v.Previous != fmt.Sprintf("cap-%d", v.Seq-1) {
			t.Fatalf("version %d names %q as previous", v.Seq, v.Previous)
		}
	}
	if checkpoints < 2 || checkpoints > len(chain)/2 {
		t.Errorf("%d checkpoints in %d versions", checkpoints, len(chain))
	}
	for i, want := range listings {
		at := t0.Add(time.Duration(i+1) * time.Minute)
		got, err := Replay(chainFrom(chain, at), at)
		if err != nil {
			t.Fatal(err)
		}
		if got.Digest() != want.Digest() {
			t.Fatalf("listing at step %d: got %d entries, want %d", i, len(got), len(want))
		}
		if len(chainFrom(chain, at)) > CheckpointEvery+len(chain)-1-latestBefore(chain, at) {
			t.Fatalf("walk back at step %d is too long", i)
		}
	}
}

func latestBefore(chain []Version, at time.Time) int {
	for i := len(chain) - 1; i >= 0; i-- {
		if !chain[i].Time.After(at) {
			return i
		}
	}
	return 0
}

func TestNothingChangedWritesNothing(t *testing.T) {
	l := Listing{"a": entry("a", 3)}
	w := NewWriter("cat", WriterState{}, nil)
	if chain := write(t, w, []Listing{l, l.Clone(), l.Clone()}); len(chain) != 1 || !chain[0].Checkpoint {
		t.Fatalf("wrote %d versions for one listing, want one checkpoint", len(chain))
	}
	// After a restart with the same listing, the writer goes on without
	// writing; with another listing, its next version is a checkpoint.
	again := NewWriter("cat", w.State(), l)
	if _, ok := again.Next(l, t0.Add(time.Hour)); ok {
		t.Fatal("a restart with nothing changed writes a version")
	}
	changed := Listing{"a": entry("a", 3), "b": entry("b", 2)}
	v, ok := NewWriter("cat", w.State(), changed).Next(changed, t0.Add(time.Hour))
	if !ok || !v.Checkpoint || v.Seq != 2 || v.Previous != "cap-1" {
		t.Fatalf("after a restart with changes: %+v, %v; want checkpoint 2 after cap-1", v, ok)
	}
}

func TestReplayAtATimeBeforeTheCatalogIsEmpty(t *testing.T) {
	chain := write(t, NewWriter("cat", WriterState{}, nil), []Listing{{"a": entry("a", 3)}})
	got, err := Replay(chainFrom(chain, t0), t0)
	if err != nil || len(got) != 0 {
		t.Fatalf("listing before the first version: %v, %v", got, err)
	}
}

func TestDecodeRefusesWhatBreaksTheRules(t *testing.T) {
	good := Version{Format: Format, Catalog: "cat", Seq: 1, Time: t0, Checkpoint: true, Entries: []Entry{entry("a", 1)}}
	cases := map[string]struct {
		edit func(*Version)
		want error
	}{
		"other owner":            {func(v *Version) { v.Catalog = "other" }, ErrOtherOwner},
		"future format":          {func(v *Version) { v.Format = 2 }, ErrMalformed},
		"version zero":           {func(v *Version) { v.Seq = 0 }, ErrMalformed},
		"first not a checkpoint": {func(v *Version) { v.Checkpoint, v.Entries = false, nil }, ErrMalformed},
		"later without previous": {func(v *Version) { v.Seq = 2 }, ErrMalformed},
		"checkpoint with changes": {func(v *Version) {
			v.Changes = []Change{{At: t0, Forget: "a"}}
		}, ErrMalformed},
		"entry without object": {func(v *Version) { v.Entries = []Entry{{Name: "x"}} }, ErrMalformed},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			v := good
			tc.edit(&v)
			data, _ := v.Encode()
			if _, err := Decode(data, "cat"); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := Decode([]byte("{not json"), "cat"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("garbage: got %v", err)
	}
	l := Listing{}
	if err := l.Apply(Change{At: t0}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("an empty change: got %v", err)
	}
}

func signedHead(t *testing.T, priv ed25519.PrivateKey, seq uint64) Head {
	t.Helper()
	var seal [32]byte
	h := Head{Seq: seq, Time: t0}
	h.Sealed = Seal(seal, priv.Public().(ed25519.PublicKey), seq, fmt.Sprintf("cap-%d", seq), [24]byte{byte(seq)})
	h.Sign(priv)
	return h
}

func newKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(append(make([]byte, 31), seed))
}

func TestHeadSealOpensOnlyForItsOwnerAndItsVersion(t *testing.T) {
	priv := newKey(1)
	h := signedHead(t, priv, 7)
	if err := h.Verify(t0); err != nil {
		t.Fatal(err)
	}
	var seal [32]byte
	if got, err := h.Open(seal); err != nil || got != "cap-7" {
		t.Fatalf("open: %q, %v", got, err)
	}
	if _, err := h.Open([32]byte{1}); !errors.Is(err, ErrSealed) {
		t.Fatalf("another owner's key opened the seal: %v", err)
	}
	moved := signedHead(t, priv, 8)
	moved.Sealed = h.Sealed
	moved.Sign(priv)
	if _, err := moved.Open(seal); !errors.Is(err, ErrSealed) {
		t.Fatalf("a seal moved to another version opened: %v", err)
	}
}

func TestHeadsVerifyBeforeKeeping(t *testing.T) {
	priv := newKey(1)
	tampered := signedHead(t, priv, 2)
	tampered.Seq = 3
	future := Head{Seq: 1, Time: t0.Add(time.Hour), Sealed: []byte("x")}
	future.Sign(priv)
	stranger := signedHead(t, newKey(2), 2)
	stranger.Catalog = priv.Public().(ed25519.PublicKey)
	for name, tc := range map[string]struct {
		h    Head
		want error
	}{
		"tampered":             {tampered, ErrBadSignature},
		"signed by a stranger": {stranger, ErrBadSignature},
		"dated in the future":  {future, ErrFuture},
		"no seal":              {Head{Seq: 1, Catalog: priv.Public().(ed25519.PublicKey), Signature: make([]byte, 64)}, ErrMalformed},
	} {
		if _, err := NewHeads().Offer(tc.h, "m1", t0); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
}

func TestHeadsKeepTheNewestAndBoundEachPublisher(t *testing.T) {
	s := NewHeads()
	priv := newKey(1)
	for _, seq := range []uint64{2, 1, 5, 5, 3} {
		if _, err := s.Offer(signedHead(t, priv, seq), "m1", t0); err != nil {
			t.Fatal(err)
		}
	}
	if h, _ := s.Get(priv.Public().(ed25519.PublicKey)); h.Seq != 5 {
		t.Fatalf("kept version %d, want 5: an older head replaced a newer one", h.Seq)
	}
	for i := range MaxHeadsPerPublisher - 1 {
		if _, err := s.Offer(signedHead(t, newKey(byte(10+i)), 1), "m1", t0); err != nil {
			t.Fatalf("head %d of m1: %v", i, err)
		}
	}
	if _, err := s.Offer(signedHead(t, newKey(99), 1), "m1", t0); !errors.Is(err, ErrOverBound) {
		t.Fatalf("a member past its bound: %v", err)
	}
	// An owner who recovered on another node publishes there: the key's
	// head moves to the new publisher and frees the old one's share.
	if ok, err := s.Offer(signedHead(t, priv, 6), "m2", t0); !ok || err != nil {
		t.Fatalf("the recovered owner's newer head: %v, %v", ok, err)
	}
	if _, err := s.Offer(signedHead(t, newKey(99), 1), "m1", t0); err != nil {
		t.Fatalf("m1 after its share was freed: %v", err)
	}
	if s.Len() != MaxHeadsPerPublisher+1 {
		t.Fatalf("%d heads kept", s.Len())
	}
}

// TestHeadTimeOutsideTheSignedRangeIsRefused: the signature covers the
// time in nanoseconds since 1970, which wraps every 2^64 ns (584 years);
// a head re-dated by exactly that much must not verify.
func TestHeadTimeOutsideTheSignedRangeIsRefused(t *testing.T) {
	h := signedHead(t, newKey(1), 3)
	h.Time = h.Time.Add(math.MaxInt64).Add(math.MaxInt64).Add(2)
	if h.Time.UnixNano() != t0.UnixNano() {
		t.Fatalf("the re-dated head signs differently: %d vs %d", h.Time.UnixNano(), t0.UnixNano())
	}
	if err := h.Verify(h.Time); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a head re-dated by 2^64 ns: %v", err)
	}
}

// TestHeadsOfOneVersionByTwoWritersConverge: two writers of one catalog
// made version 5 each; every member keeps the same one, whichever it
// heard first.
func TestHeadsOfOneVersionByTwoWritersConverge(t *testing.T) {
	priv := newKey(1)
	var seal [32]byte
	one := Head{Seq: 5, Time: t0, Sealed: Seal(seal, priv.Public().(ed25519.PublicKey), 5, "cap-a", [24]byte{1})}
	one.Sign(priv)
	two := Head{Seq: 5, Time: t0.Add(time.Second), Sealed: Seal(seal, priv.Public().(ed25519.PublicKey), 5, "cap-b", [24]byte{2})}
	two.Sign(priv)
	var kept [][]byte
	for _, order := range [][]Head{{one, two}, {two, one}} {
		s := NewHeads()
		for _, h := range order {
			if _, err := s.Offer(h, "m1", t0); err != nil {
				t.Fatal(err)
			}
		}
		h, _ := s.Get(priv.Public().(ed25519.PublicKey))
		kept = append(kept, h.Signature)
	}
	if !bytes.Equal(kept[0], kept[1]) {
		t.Fatal("two members that heard the same two heads in another order keep different ones")
	}
}
