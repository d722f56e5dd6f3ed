package node

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-datastore"
	"github.com/libp2p/go-libp2p/core/peer"
)

// TestMemberAddressesAreRemembered: a member's dialable addresses are
// stored, so a node that restarts alone can find the federation again.
func TestMemberAddressesAreRemembered(t *testing.T) {
	a, b := federatedPair(t, nil)
	waitUntil(t, 10*time.Second, "a to remember b's addresses", func() bool {
		has, _ := a.meta.Has(context.Background(), datastore.NewKey(memberAddrsPrefix+b.host.ID().String()))
		return has
	})
}

// TestMembersToDial: a node dials missing members only up to its low
// water mark, skipping those backing off, and spreads its picks at random.
func TestMembersToDial(t *testing.T) {
	var missing []peer.ID
	for i := range 10 {
		missing = append(missing, peer.ID(fmt.Sprintf("member-%d", i)))
	}
	all := func(peer.ID) bool { return true }
	if got := membersToDial(missing, 3, 64, all); len(got) != 10 {
		t.Errorf("below the low water with room for all: dials %d of 10", len(got))
	}
	if got := membersToDial(missing, 64, 64, all); len(got) != 0 {
		t.Errorf("at the low water: dials %d, want none", len(got))
	}
	notFirstHalf := func(p peer.ID) bool { return !slices.Contains(missing[:5], p) }
	picked := map[peer.ID]bool{}
	for range 50 {
		got := membersToDial(missing, 61, 64, notFirstHalf)
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
