package tombstone

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestApply(t *testing.T) {
	type step struct {
		ts          Tombstone
		wantChanged bool
		wantErr     error
	}
	forged := Tombstone{Object: objA, Version: 9, Deleted: false, Kind: KindOwner, IssuedAt: epoch}
	if err := forged.Sign(attackerKey); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		steps       []step
		wantDeleted bool
	}{
		{"delete", []step{{signed(t, objA, KindOwner, 1, true, epoch), true, nil}}, true},
		{"duplicate ignored", []step{
			{signed(t, objA, KindOwner, 1, true, epoch), true, nil},
			{signed(t, objA, KindOwner, 1, true, epoch), false, nil},
		}, true},
		{"replayed older version ignored", []step{
			{signed(t, objA, KindOwner, 1, true, epoch), true, nil},
			{signed(t, objA, KindOwner, 2, false, epoch), true, nil},
			{signed(t, objA, KindOwner, 1, true, epoch), false, nil},
		}, false},
		{"forged restore rejected", []step{
			{signed(t, objA, KindOwner, 1, true, epoch), true, nil},
			{forged, false, ErrNotOwner},
		}, true},
		{"absurd version rejected", []step{
			{signed(t, objA, KindOwner, 1, true, epoch), true, nil},
			{signed(t, objA, KindOwner, 1+1<<20+1, false, epoch), false, ErrAbsurdVersion},
		}, true},
		{"largest plausible jump accepted", []step{
			{signed(t, objA, KindOwner, 1<<20, true, epoch), true, nil},
		}, true},
		{"unknown object", []step{{signed(t, "bafyunknown", KindOwner, 1, true, epoch), false, ErrUnknownObject}}, false},
		{"future timestamp", []step{{signed(t, objA, KindOwner, 1, true, epoch.Add(time.Hour)), false, ErrFutureTimestamp}}, false},
		{"owner cannot undo takedown", []step{
			{signed(t, objA, KindTakedown, 1, true, epoch), true, nil},
			{signed(t, objA, KindOwner, 5, false, epoch), true, nil},
		}, true},
		{"lifting takedown keeps owner's deletion", []step{
			{signed(t, objA, KindOwner, 1, true, epoch), true, nil},
			{signed(t, objA, KindTakedown, 1, true, epoch), true, nil},
			{signed(t, objA, KindTakedown, 2, false, epoch), true, nil},
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSet(t)
			for i, st := range tt.steps {
				changed, err := s.Apply(st.ts, epoch)
				if changed != st.wantChanged || !errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil) {
					t.Errorf("step %d: Apply() = %v, %v; want %v, %v", i, changed, err, st.wantChanged, st.wantErr)
				}
			}
			if got := s.IsDeleted(objA); got != tt.wantDeleted {
				t.Errorf("IsDeleted() = %v, want %v", got, tt.wantDeleted)
			}
		})
	}
}

func TestEqualVersionTieBreak(t *testing.T) {
	del := signed(t, objA, KindOwner, 3, true, epoch)
	res := signed(t, objA, KindOwner, 3, false, epoch)
	early := signed(t, objA, KindOwner, 3, true, epoch.Add(-time.Second))
	for _, order := range [][]Tombstone{{del, res, early}, {res, early, del}, {early, res, del}} {
		s := newTestSet(t)
		for _, ts := range order {
			mustApply(t, s, ts, epoch)
		}
		e, _ := s.Get(objA)
		want := del
		if string(early.Signature) > string(del.Signature) {
			want = early
		}
		if !e.Owner.Deleted || !e.Owner.IssuedAt.Equal(want.IssuedAt) {
			t.Errorf("winner = deleted %v issued %v, want the deletion with the larger signature (issued %v)",
				e.Owner.Deleted, e.Owner.IssuedAt, want.IssuedAt)
		}
	}
}

// TestDeleteRestoreDeletePermutations delivers delete v1, restore v2,
// delete v3 (and a takedown and its lifting) in every order: every
// replica must end in the same state.
func TestDeleteRestoreDeletePermutations(t *testing.T) {
	msgs := []Tombstone{
		signed(t, objA, KindOwner, 1, true, epoch),
		signed(t, objA, KindOwner, 2, false, epoch.Add(time.Second)),
		signed(t, objA, KindOwner, 3, true, epoch.Add(2*time.Second)),
		signed(t, objB, KindTakedown, 1, true, epoch),
		signed(t, objB, KindTakedown, 2, false, epoch.Add(time.Second)),
	}
	var want []Tombstone
	var wantDigest Digest
	n := 0
	for perm := range permutations(len(msgs)) {
		s := newTestSet(t)
		for _, i := range perm {
			if _, err := s.Apply(msgs[i], epoch.Add(time.Minute)); err != nil {
				t.Fatalf("order %v: %v", perm, err)
			}
		}
		if !s.IsDeleted(objA) || s.IsDeleted(objB) {
			t.Errorf("order %v: deleted(A)=%v deleted(B)=%v, want true, false", perm, s.IsDeleted(objA), s.IsDeleted(objB))
		}
		got := s.Tombstones()
		if want == nil {
			want, wantDigest = got, s.Digest()
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || s.Digest() != wantDigest {
			t.Errorf("order %v: state differs from the first order", perm)
		}
		n++
	}
	if n != 120 {
		t.Errorf("ran %d permutations, want 120", n)
	}
}

// permutations yields every ordering of 0..n-1 (Heap's algorithm).
func permutations(n int) func(yield func([]int) bool) {
	return func(yield func([]int) bool) {
		p := make([]int, n)
		for i := range p {
			p[i] = i
		}
		var gen func(k int) bool
		gen = func(k int) bool {
			if k <= 1 {
				return yield(slices.Clone(p))
			}
			for i := 0; i < k; i++ {
				if !gen(k - 1) {
					return false
				}
				j := 0
				if k%2 == 0 {
					j = i
				}
				p[j], p[k-1] = p[k-1], p[j]
			}
			return true
		}
		gen(n)
	}
}

func TestApplyAck(t *testing.T) {
	s := newTestSet(t)
	mustApply(t, s, signed(t, objA, KindOwner, 1, true, epoch), epoch)
	tests := []struct {
		name        string
		ack         Ack
		wantChanged bool
		wantErr     error
	}{
		{"applied", signedAck(t, objA, KindOwner, 1, "h1", PhaseApplied, epoch), true, nil},
		{"same again", signedAck(t, objA, KindOwner, 1, "h1", PhaseApplied, epoch), false, nil},
		{"purged", signedAck(t, objA, KindOwner, 1, "h1", PhasePurged, epoch), true, nil},
		{"unknown holder", signedAck(t, objA, KindOwner, 1, "h9", PhaseApplied, epoch), false, ErrUnknownHolder},
		{"no such tombstone", signedAck(t, objB, KindOwner, 1, "h1", PhaseApplied, epoch), false, ErrUnknownObject},
		{"no takedown lane", signedAck(t, objA, KindTakedown, 1, "h1", PhaseApplied, epoch), false, ErrUnknownObject},
		{"absurd version", signedAck(t, objA, KindOwner, 1<<21, "h1", PhaseApplied, epoch), false, ErrAbsurdVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed, err := s.ApplyAck(tt.ack, epoch)
			if changed != tt.wantChanged || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("ApplyAck() = %v, %v; want %v, %v", changed, err, tt.wantChanged, tt.wantErr)
			}
		})
	}
	if got := len(s.Acks(objA)); got != 2 {
		t.Errorf("len(Acks) = %d, want 2", got)
	}
}
