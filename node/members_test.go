package node

import (
	"context"
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
		has, _ := a.disk.meta.Has(context.Background(), datastore.NewKey(memberAddrsPrefix+b.net.host.ID().String()))
		return has
	})
}

// TestMemberAddressesWrittenWhenChanged: the loop that keeps members
// connected writes a member's addresses again only when they changed;
// a save without that record (at close, in a snapshot) writes them all.
func TestMemberAddressesWrittenWhenChanged(t *testing.T) {
	ctx := context.Background()
	a, b := federatedPair(t, nil)
	key := datastore.NewKey(memberAddrsPrefix + b.net.host.ID().String())
	// Once a's own loop has saved them, it writes again only when a member
	// comes or goes, or after a minute.
	waitUntil(t, 10*time.Second, "a's loop to save b's addresses", func() bool {
		has, _ := a.disk.meta.Has(ctx, key)
		return has
	})
	saved := map[peer.ID]string{}
	waitUntil(t, 10*time.Second, "a to save b's addresses", func() bool {
		a.saveMemberAddrs(ctx, saved)
		return saved[b.net.host.ID()] != ""
	})
	if err := a.disk.meta.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	a.saveMemberAddrs(ctx, saved)
	if has, _ := a.disk.meta.Has(ctx, key); has {
		t.Error("addresses unchanged since the last save were written again")
	}
	a.saveMemberAddrs(ctx, nil)
	if has, _ := a.disk.meta.Has(ctx, key); !has {
		t.Error("a save without a record did not write the addresses")
	}
}
