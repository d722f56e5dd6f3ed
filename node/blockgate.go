package node

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
)

// Taking back blocks. A failed import or pin must leave nothing behind,
// but a block it brought may meanwhile be needed by another write: an add
// of the same file finds it present and does not write it again, a fetch
// receives it from the same session. So every operation that writes
// blocks and then records the object they make holds the block gate
// (shared) from its first write until its blocks are noted in the
// reference counts, and blocks are taken back only while nobody holds it
// (exclusive, never waited for) and only when no kept object uses them.
// When the gate is busy, the blocks are listed as orphans in the metadata
// store and taken back at the next start, once the reference counts hold
// every kept object and before anything is served.

// blockGate is held shared by writers of blocks; see above.
type blockGate struct{ sync.RWMutex }

// writingBlocks holds the block gate shared and returns its release.
func (n *Node) writingBlocks() func() {
	n.disk.gate.RLock()
	var once sync.Once
	return func() { once.Do(n.disk.gate.RUnlock) }
}

var orphanPrefix = datastore.NewKey("/orphans")

// dropBlocks takes back blocks a failed write brought: at once when no
// other write is under way, else at the next start.
func (n *Node) dropBlocks(fresh []cid.Cid) {
	if len(fresh) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if !n.disk.gate.TryLock() {
		if err := n.rememberOrphans(ctx, fresh); err != nil {
			n.logger.Warn("record blocks of a failed write to remove later", "blocks", len(fresh), "err", err)
		}
		return
	}
	defer n.disk.gate.Unlock()
	n.deleteUnused(ctx, fresh)
}

// deleteUnused deletes the blocks no kept object uses.
func (n *Node) deleteUnused(ctx context.Context, cs []cid.Cid) {
	for _, c := range cs {
		if n.del.Used(c) {
			continue
		}
		if err := n.disk.blocks.DeleteBlock(ctx, c); err != nil {
			n.logger.Warn("remove a block of a failed write", "cid", c, "err", err)
		}
	}
}

func (n *Node) rememberOrphans(ctx context.Context, cs []cid.Cid) error {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.String()
	}
	data, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	key := orphanPrefix.ChildString(fmt.Sprintf("%020d", time.Now().UnixNano()))
	return n.disk.meta.Put(ctx, key, data)
}

// sweepOrphans takes back the blocks failed writes left while others were
// writing. It runs at start, once every kept object's blocks are counted.
func (n *Node) sweepOrphans(ctx context.Context) error {
	res, err := n.disk.meta.Query(ctx, query.Query{Prefix: orphanPrefix.String()})
	if err != nil {
		return fmt.Errorf("list orphan blocks: %w", err)
	}
	entries, err := res.Rest()
	if err != nil {
		return fmt.Errorf("list orphan blocks: %w", err)
	}
	for _, e := range entries {
		var ids []string
		if err := json.Unmarshal(e.Value, &ids); err != nil {
			n.logger.Warn("unreadable list of orphan blocks", "key", e.Key, "err", err)
		}
		cs := make([]cid.Cid, 0, len(ids))
		for _, id := range ids {
			if c, err := cid.Decode(id); err == nil {
				cs = append(cs, c)
			}
		}
		n.deleteUnused(ctx, cs)
		if err := n.disk.meta.Delete(ctx, datastore.NewKey(e.Key)); err != nil {
			return fmt.Errorf("forget orphan blocks: %w", err)
		}
	}
	return nil
}
