package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ipfs/go-datastore"

	"github.com/cairn-fed/cairn/catalog"
)

// Catalog entries a recovery has not restored yet: carried in the
// catalog, sealed, until their objects are back.

// carriedPrefix holds, sealed, the catalog entries a recovery could not
// restore (no member served the object then): they stay in the catalog,
// so a later `cairn recover` can try them again.
const carriedPrefix = "/catalog/carried/"

// carryEntry keeps e in the catalog without an index record.
func (n *Node) carryEntry(ctx context.Context, e catalog.Entry) error {
	plain, err := json.Marshal(e)
	if err != nil {
		return err
	}
	sealed, err := n.disk.index.sealBytes(plain)
	if err != nil {
		return err
	}
	if err := n.disk.meta.Put(ctx, datastore.NewKey(carriedPrefix+e.Object), sealed); err != nil {
		return fmt.Errorf("keep catalog entry of %s: %w", e.Object, err)
	}
	return nil
}

// dropCarried forgets a carried entry once its object is restored.
func (n *Node) dropCarried(ctx context.Context, obj string) error {
	err := n.disk.meta.Delete(ctx, datastore.NewKey(carriedPrefix+obj))
	if err != nil && !errors.Is(err, datastore.ErrNotFound) {
		return fmt.Errorf("forget carried catalog entry of %s: %w", obj, err)
	}
	return nil
}

// carriedEntries returns the entries recoveries could not restore.
func (n *Node) carriedEntries(ctx context.Context) (catalog.Listing, error) {
	l := catalog.Listing{}
	err := n.eachStored(ctx, carriedPrefix, func(_ string, sealed []byte) error {
		plain, err := n.disk.index.openBytes(sealed)
		if err != nil {
			return err
		}
		var e catalog.Entry
		if err := json.Unmarshal(plain, &e); err != nil {
			return err
		}
		l[e.Object] = e
		return nil
	})
	return l, err
}
