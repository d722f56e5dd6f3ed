package deletions

import (
	"fmt"
	"testing"

	"github.com/cairn-fed/cairn/tombstone"
)

// TestPendingBounds: tombstones waiting for their owner key are bounded per
// object, per sending peer and in all; one member's flood fills only its
// own share.
func TestPendingBounds(t *testing.T) {
	tests := []struct {
		name string
		// send is how many tombstones each peer sends; obj names the
		// object of the i-th tombstone from peer p.
		peers     []string
		send      int
		obj       func(p string, i int) string
		wantTotal int
	}{
		{"per object and peer", []string{"m", "h"}, 10, func(string, int) string { return "same" }, 2 * maxPendingPerObject},
		{"per peer", []string{"m"}, maxPendingPerPeer + 500, func(p string, i int) string { return fmt.Sprintf("%s-%d", p, i) }, maxPendingPerPeer},
		{"in all", []string{"p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10", "p11"}, maxPendingPerPeer,
			func(p string, i int) string { return fmt.Sprintf("%s-%d", p, i) }, maxPendingTombstones},
		{"own storage is not a peer", []string{""}, maxPendingPerPeer + 5, func(p string, i int) string { return fmt.Sprint(i) }, maxPendingPerPeer + 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestState(t, memStore())
			for _, p := range tt.peers {
				for i := range tt.send {
					s.AwaitOwner(tombstone.Tombstone{Object: tt.obj(p, i), Version: uint64(i + 1)}, p)
				}
			}
			total := 0
			for _, ps := range s.pending.byObject {
				total += len(ps)
			}
			if total != tt.wantTotal {
				t.Errorf("%d tombstones wait, want %d", total, tt.wantTotal)
			}
		})
	}
}

// TestPendingPeerShareFreedOnTake: taking an object's tombstones frees
// their senders' shares, and another member is never crowded out.
func TestPendingPeerShareFreedOnTake(t *testing.T) {
	s := newTestState(t, memStore())
	for i := range maxPendingPerPeer + 1 {
		s.AwaitOwner(tombstone.Tombstone{Object: fmt.Sprintf("made-up-%d", i)}, "m")
	}
	s.AwaitOwner(tombstone.Tombstone{Object: "real"}, "h")
	if got := s.TakePending("real"); len(got) != 1 || got[0].From != "h" {
		t.Fatalf("another member's tombstone: took %v, want one from h", got)
	}
	s.TakePending("made-up-0")
	if s.pending.byPeer["m"] != maxPendingPerPeer-1 {
		t.Errorf("after one was taken, %d wait from m, want %d", s.pending.byPeer["m"], maxPendingPerPeer-1)
	}
	if _, ok := s.pending.byPeer["h"]; ok {
		t.Error("h's share is still counted after its only tombstone was taken")
	}
}

// TestPendingJunkDoesNotCrowdOutHonest: a member flooding an object not
// known yet with junk tombstones (and repeats of one) fills only its own
// share for that object: another member's tombstone for it still waits.
func TestPendingJunkDoesNotCrowdOutHonest(t *testing.T) {
	s := newTestState(t, memStore())
	junk := tombstone.Tombstone{Object: "victim", Version: 1, Signature: []byte("junk")}
	for range 50 {
		s.AwaitOwner(junk, "m") // repeats of one
	}
	for v := range 50 {
		s.AwaitOwner(tombstone.Tombstone{Object: "victim", Version: uint64(v + 2)}, "m")
	}
	honest := tombstone.Tombstone{Object: "victim", Version: 1, Signature: []byte("honest")}
	s.AwaitOwner(honest, "h")
	got := s.TakePending("victim")
	fromM, fromH := 0, 0
	for _, p := range got {
		switch p.From {
		case "m":
			fromM++
		case "h":
			fromH++
		}
	}
	if fromM != maxPendingPerObject || fromH != 1 {
		t.Errorf("waiting: %d from m, %d from h; want %d and 1", fromM, fromH, maxPendingPerObject)
	}
	if s.pending.fromPeers != 0 || len(s.pending.byPeer) != 0 {
		t.Errorf("after taking: %d still counted from peers, shares %v; want none", s.pending.fromPeers, s.pending.byPeer)
	}
}
