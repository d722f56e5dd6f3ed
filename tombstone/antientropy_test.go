package tombstone

import (
	"hash/fnv"
	"testing"
	"time"
)

// exchange runs one anti-entropy round from a's side against b, as the
// node would over the network: digests, listings of differing buckets,
// then each side applies what the other says it is missing.
func exchange(t *testing.T, a, b *Set, now time.Time) (sentToA, sentToB int) {
	t.Helper()
	diff := a.Digest().Differs(b.Digest())
	for _, ts := range b.Missing(a.Listing(diff)) {
		if _, err := a.Apply(ts, now); err != nil {
			t.Fatalf("a.Apply(%s): %v", ts.Object, err)
		}
		sentToA++
	}
	for _, ts := range a.Missing(b.Listing(diff)) {
		if _, err := b.Apply(ts, now); err != nil {
			t.Fatalf("b.Apply(%s): %v", ts.Object, err)
		}
		sentToB++
	}
	return sentToA, sentToB
}

func TestAntiEntropyReturningNode(t *testing.T) {
	now := epoch.Add(3 * time.Hour)
	online, returning := newTestSet(t), newTestSet(t)
	shared := signed(t, "bafyc", KindOwner, 1, true, epoch)
	mustApply(t, online, shared, epoch)
	mustApply(t, returning, shared, epoch)
	// While returning was away: a deletion, a delete-restore pair, a takedown.
	for _, ts := range []Tombstone{
		signed(t, objA, KindOwner, 1, true, epoch.Add(time.Minute)),
		signed(t, objB, KindOwner, 1, true, epoch.Add(time.Minute)),
		signed(t, objB, KindOwner, 2, false, epoch.Add(2*time.Minute)),
		signed(t, "bafyd", KindTakedown, 1, true, epoch.Add(time.Minute)),
	} {
		mustApply(t, online, ts, epoch.Add(time.Hour))
	}
	// The returning node knew an old version of objB and has one tombstone
	// the other lacks.
	mustApply(t, returning, signed(t, objB, KindOwner, 1, true, epoch.Add(time.Minute)), epoch)
	mustApply(t, returning, signed(t, "bafye", KindOwner, 1, true, epoch), epoch)
	online.Compact(now) // compacted records must still travel and verify

	toReturning, toOnline := exchange(t, returning, online, now)
	if toReturning != 3 || toOnline != 1 {
		t.Errorf("sent %d to the returning node and %d back, want 3 and 1", toReturning, toOnline)
	}
	if returning.Digest() != online.Digest() {
		t.Errorf("digests differ after one exchange: %v", returning.Digest().Differs(online.Digest()))
	}
	for obj, want := range map[string]bool{objA: true, objB: false, "bafyc": true, "bafyd": true, "bafye": true} {
		if got := returning.IsDeleted(obj); got != want {
			t.Errorf("returning.IsDeleted(%s) = %v, want %v", obj, got, want)
		}
	}
	if a, b := exchange(t, returning, online, now); a+b != 0 {
		t.Errorf("second exchange sent %d tombstones, want 0", a+b)
	}
}

func TestMissingSendsConflictingEqualVersion(t *testing.T) {
	a, b := newTestSet(t), newTestSet(t)
	mustApply(t, a, signed(t, objA, KindOwner, 2, true, epoch), epoch)
	mustApply(t, b, signed(t, objA, KindOwner, 2, false, epoch), epoch)
	exchange(t, a, b, epoch)
	if a.Digest() != b.Digest() || !a.IsDeleted(objA) || !b.IsDeleted(objA) {
		t.Errorf("after exchange deleted = %v/%v, digests equal = %v; want both deleted and equal",
			a.IsDeleted(objA), b.IsDeleted(objA), a.Digest() == b.Digest())
	}
}

func TestBucketOfIsFNV1a(t *testing.T) {
	for _, obj := range []string{objA, "x", benchObject(7)} {
		h := fnv.New32a()
		h.Write([]byte(obj))
		if got, want := bucketOf(obj), int(h.Sum32()%DigestBuckets); got != want {
			t.Errorf("bucketOf(%q) = %d, want %d", obj, got, want)
		}
	}
}
