package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"

	"github.com/cairn-fed/cairn/replication"
	"github.com/cairn-fed/cairn/tombstone"
)

// Datastore keys of the deletion state.
const (
	tombPrefix    = "/deletion/tombstone/"
	ackPrefix     = "/deletion/ack/"
	holdersPrefix = "/deletion/holders/"
	purgedPrefix  = "/deletion/purged/"
	lastOnlineKey = "/deletion/last-online"
)

func tombKey(t tombstone.Tombstone) datastore.Key {
	return datastore.NewKey(fmt.Sprintf("%s%s/%d", tombPrefix, t.Object, t.Kind))
}

func ackKey(a tombstone.Ack) datastore.Key {
	return datastore.NewKey(fmt.Sprintf("%s%s/%d/%d/%s", ackPrefix, a.Object, a.Kind, a.Phase, a.Holder))
}

// persist writes v (a tombstone, an ack, or JSON) under key, durably. A
// write that fails is kept and tried again by the deletion loop until it
// succeeds (retryUnsaved): deletion state lost at a restart could let a
// deleted object be served again. The error goes to the caller.
func (n *Node) persist(ctx context.Context, key datastore.Key, v any) error {
	data, err := encodeDeletionState(v)
	if err == nil {
		err = n.meta.Put(ctx, key, data)
	}
	if err != nil {
		n.del.mu.Lock()
		n.del.unsaved[key] = data
		n.del.mu.Unlock()
		return fmt.Errorf("persist deletion state %s (kept to try again): %w", key, err)
	}
	return nil
}

func encodeDeletionState(v any) ([]byte, error) {
	switch m := v.(type) {
	case tombstone.Tombstone:
		return m.MarshalBinary()
	case tombstone.Ack:
		return m.MarshalBinary()
	}
	return json.Marshal(v)
}

// retryUnsaved writes again the deletion state whose first write failed,
// the latest value of each key, and reports how many are still unsaved.
func (n *Node) retryUnsaved(ctx context.Context) int {
	n.del.mu.Lock()
	todo := maps.Clone(n.del.unsaved)
	n.del.mu.Unlock()
	left := 0
	for key, data := range todo {
		if err := n.meta.Put(ctx, key, data); err != nil {
			left++
			continue
		}
		n.del.mu.Lock()
		if cur, ok := n.del.unsaved[key]; ok && bytes.Equal(cur, data) {
			delete(n.del.unsaved, key)
		}
		n.del.mu.Unlock()
	}
	if left > 0 {
		n.logger.Warn("deletion state still not written; trying again", "records", left)
	}
	return left
}

// restoreDeletions applies the stored tombstones, acknowledgements, purge
// marks and holder lists. It runs after the replica ledger is restored
// (owner keys come from attestations) and before any object is tracked.
func (n *Node) restoreDeletions(ctx context.Context) error {
	d := n.del
	err := n.eachStored(ctx, tombPrefix, func(_ string, v []byte) error {
		t, err := tombstone.Decode(v)
		if err == nil {
			d.mu.Lock()
			_, err = d.set.Apply(t, time.Now())
			if errors.Is(err, tombstone.ErrUnknownObject) {
				d.pending[t.Object] = append(d.pending[t.Object], pendingTombstone{t: t})
			}
			d.mu.Unlock()
		}
		return err
	})
	if err != nil {
		return err
	}
	err = n.eachStored(ctx, ackPrefix, func(_ string, v []byte) error {
		a, err := tombstone.DecodeAck(v)
		if err == nil {
			d.mu.Lock()
			_, err = d.set.ApplyAck(a, time.Now())
			d.mu.Unlock()
		}
		return err
	})
	if err != nil {
		return err
	}
	err = n.eachStored(ctx, holdersPrefix, func(obj string, v []byte) error {
		var hs []string
		err := json.Unmarshal(v, &hs)
		d.mu.Lock()
		d.holders[obj] = hs
		d.mu.Unlock()
		return err
	})
	if err != nil {
		return err
	}
	err = n.eachStored(ctx, purgedPrefix, func(obj string, _ []byte) error {
		d.mu.Lock()
		d.set.MarkPurged(obj)
		d.mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	now := time.Now()
	d.mu.Lock()
	deleted := []string{}
	for _, t := range d.set.Tombstones() {
		if d.set.IsDeleted(t.Object) {
			deleted = append(deleted, t.Object)
		}
	}
	d.mu.Unlock()
	n.repl.do(func(c *replication.Core) {
		for _, obj := range deleted {
			c.SetDeleted(replication.ObjectID(obj), true, now)
		}
	})
	return nil
}

// mustResync reports whether the node was offline longer than tombstones
// are kept in full, and so must resynchronise them before serving.
func (n *Node) mustResync(ctx context.Context) bool {
	data, err := n.meta.Get(ctx, datastore.NewKey(lastOnlineKey))
	if err != nil {
		return false // a new node has nothing to resynchronise
	}
	var last time.Time
	if json.Unmarshal(data, &last) != nil {
		return true
	}
	n.del.mu.Lock()
	defer n.del.mu.Unlock()
	return n.del.set.MustResync(last, time.Now())
}

// hideDeleted hides the blocks of every deleted object kept here; it runs
// once the kept objects' block lists are known.
func (n *Node) hideDeleted() {
	d := n.del
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, t := range d.set.Tombstones() {
		if d.set.IsDeleted(t.Object) {
			d.rehide(t.Object)
		}
	}
}

// eachStored calls fn with the last key segment and value of every entry
// under prefix; a bad entry is logged and skipped, not fatal.
func (n *Node) eachStored(ctx context.Context, prefix string, fn func(name string, v []byte) error) error {
	res, err := n.meta.Query(ctx, query.Query{Prefix: prefix})
	if err != nil {
		return fmt.Errorf("read deletion state: %w", err)
	}
	defer res.Close()
	for e := range res.Next() {
		if e.Error != nil {
			return fmt.Errorf("read deletion state: %w", e.Error)
		}
		name := strings.TrimPrefix(e.Key, prefix)
		if err := fn(name, e.Value); err != nil {
			n.logger.Warn("skipped stored deletion state", "key", e.Key, "err", err)
		}
	}
	return nil
}
