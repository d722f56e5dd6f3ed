package node

import (
	"context"
	"sync"
	"testing"

	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
)

// TestHolderRecordNeverReplacesTheOwners: a repair fetch of an object
// records it as held only if nothing records it yet; when it ends at the
// moment the owner's recovery (or add) records the same object, the
// owner's record stays, whichever write comes first. Before putIfAbsent
// the fetch looked, then wrote, and a record put in between was lost: the
// demo's recovery once listed one of two recovered files as held.
func TestHolderRecordNeverReplacesTheOwners(t *testing.T) {
	ctx := context.Background()
	ix := &index{ds: dssync.MutexWrap(datastore.NewMapDatastore())}
	for i := range 300 {
		id := "bafyrace" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := ix.putIfAbsent(ctx, ObjectRecord{ID: id, Role: RoleHolder}); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if err := ix.put(ctx, ObjectRecord{ID: id, Role: RoleOwner}); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		if r, err := ix.get(ctx, id); err != nil || r.Role != RoleOwner {
			t.Fatalf("record of %s after a holder's and the owner's writes: %+v, %v; want the owner's", id, r, err)
		}
	}
	if wrote, err := ix.putIfAbsent(ctx, ObjectRecord{ID: "bafyracenew", Role: RoleHolder}); !wrote || err != nil {
		t.Errorf("putIfAbsent of a new object: %v, %v; want written", wrote, err)
	}
}
