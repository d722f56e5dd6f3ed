package node

import (
	"context"
	"testing"
	"time"

	"github.com/ipfs/go-datastore"
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
