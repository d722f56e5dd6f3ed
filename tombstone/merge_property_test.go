package tombstone

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// pool is a fixed set of signed messages that random sets draw from.
type pool struct {
	tombstones []Tombstone
	acks       []Ack
}

func newPool(t testing.TB) *pool {
	p := &pool{}
	for _, obj := range []string{objA, objB, "bafyc", "bafyd"} {
		for _, kind := range []Kind{KindOwner, KindTakedown} {
			for v := uint64(1); v <= 3; v++ {
				for i, del := range []bool{true, false, true} {
					at := epoch.Add(time.Duration(i) * time.Second)
					p.tombstones = append(p.tombstones, signed(t, obj, kind, v, del, at))
				}
				for _, h := range holderIDs[:3] {
					p.acks = append(p.acks, signedAck(t, obj, kind, v, h, PhaseApplied, epoch))
					p.acks = append(p.acks, signedAck(t, obj, kind, v, h, PhasePurged, epoch.Add(time.Second)))
				}
			}
		}
	}
	return p
}

// randomSet applies a random subset of the pool in a random order.
func (p *pool) randomSet(t testing.TB, rng *rand.Rand) *Set {
	s := newTestSet(t)
	for _, i := range rng.Perm(len(p.tombstones))[:rng.IntN(len(p.tombstones))] {
		mustApply(t, s, p.tombstones[i], epoch)
	}
	for _, i := range rng.Perm(len(p.acks))[:rng.IntN(len(p.acks))] {
		s.ApplyAck(p.acks[i], epoch) // ErrUnknownObject for absent lanes is expected
	}
	return s
}

func merged(t testing.TB, sets ...*Set) *Set {
	out := newTestSet(t)
	for _, s := range sets {
		out.Merge(s)
	}
	return out
}

// snapshot renders the replicated state: tombstones, acks and digest.
func snapshot(s *Set) string {
	out := fmt.Sprint(s.Tombstones(), s.Digest())
	for _, obj := range s.sortedObjects() {
		out += fmt.Sprint(obj, s.Acks(obj))
	}
	return out
}

func TestMergeProperties(t *testing.T) {
	p := newPool(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 20 {
		a, b, c := p.randomSet(t, rng), p.randomSet(t, rng), p.randomSet(t, rng)
		checks := []struct {
			name      string
			got, want *Set
		}{
			{"commutative", merged(t, a, b), merged(t, b, a)},
			{"associative", merged(t, merged(t, a, b), c), merged(t, a, merged(t, b, c))},
			{"idempotent", merged(t, a, a), merged(t, a)},
			{"absorbing", merged(t, merged(t, a, b), b), merged(t, a, b)},
			{"copy equals original", merged(t, a), a},
		}
		for _, ck := range checks {
			if got, want := snapshot(ck.got), snapshot(ck.want); got != want {
				t.Fatalf("trial %d: %s: got\n%s\nwant\n%s", trial, ck.name, got, want)
			}
		}
	}
}

// TestMergeEqualsApplyingEverything checks that merging replicas gives the
// state a single node reaches by applying all their messages.
func TestMergeEqualsApplyingEverything(t *testing.T) {
	p := newPool(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 20 {
		all := newTestSet(t)
		for _, i := range rng.Perm(len(p.tombstones)) {
			mustApply(t, all, p.tombstones[i], epoch)
		}
		parts := make([]*Set, 3)
		for i := range parts {
			parts[i] = newTestSet(t)
		}
		for _, ts := range p.tombstones {
			mustApply(t, parts[rng.IntN(len(parts))], ts, epoch)
		}
		if got, want := snapshot(merged(t, parts...)), snapshot(all); got != want {
			t.Fatalf("trial %d: merge of parts differs from applying everything", trial)
		}
	}
}
