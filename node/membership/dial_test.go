package membership

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestMembersToDial: a node dials missing members only up to its low
// water mark, skipping those backing off, and spreads its picks at random.
func TestMembersToDial(t *testing.T) {
	var missing []peer.ID
	for i := range 10 {
		missing = append(missing, peer.ID(fmt.Sprintf("member-%d", i)))
	}
	all := func(peer.ID) bool { return true }
	if got := MembersToDial(missing, 3, 64, all); len(got) != 10 {
		t.Errorf("below the low water with room for all: dials %d of 10", len(got))
	}
	if got := MembersToDial(missing, 64, 64, all); len(got) != 0 {
		t.Errorf("at the low water: dials %d, want none", len(got))
	}
	notFirstHalf := func(p peer.ID) bool { return !slices.Contains(missing[:5], p) }
	picked := map[peer.ID]bool{}
	for range 50 {
		got := MembersToDial(missing, 61, 64, notFirstHalf)
		if len(got) != 3 {
			t.Fatalf("3 below the low water: dials %d, want 3", len(got))
		}
		for _, p := range got {
			if !notFirstHalf(p) {
				t.Fatalf("dialled %s, which is backing off", p)
			}
			picked[p] = true
		}
	}
	if len(picked) != 5 {
		t.Errorf("over 50 rounds the picks covered %d of the 5 members due; want all: the choice should be random", len(picked))
	}
}

func TestDialBackoff(t *testing.T) {
	p, q := peer.ID("p"), peer.ID("q")
	b := &DialBackoff{Min: 2 * time.Second, Max: 10 * time.Second}
	type step struct {
		do      string // "fail", "succeed" or "" (only check)
		at      time.Duration
		wantDue bool
	}
	steps := []step{
		{"", 0, true},                       // never tried: due
		{"fail", 0, false},                  // waits Min
		{"", 2*time.Second - 1, false},      // not yet
		{"", 2 * time.Second, true},         // due after Min
		{"fail", 2 * time.Second, false},    // waits 4 s
		{"", 6*time.Second - 1, false},      //
		{"", 6 * time.Second, true},         //
		{"fail", 6 * time.Second, false},    // waits 8 s
		{"fail", 14 * time.Second, false},   // 16 s, capped at Max: 10 s
		{"", 24*time.Second - 1, false},     //
		{"", 24 * time.Second, true},        //
		{"succeed", 24 * time.Second, true}, // reset
		{"fail", 24 * time.Second, false},   // back to Min
		{"", 26 * time.Second, true},        //
	}
	for i, s := range steps {
		at := t0.Add(s.at)
		switch s.do {
		case "fail":
			b.Failed(p, at)
		case "succeed":
			b.Succeeded(p)
		}
		if got := b.Due(p, at); got != s.wantDue {
			t.Errorf("step %d (%s at %v): due %v, want %v", i, s.do, s.at, got, s.wantDue)
		}
		if !b.Due(q, at) {
			t.Errorf("step %d: another member backs off too", i)
		}
	}
}
