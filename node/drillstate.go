package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/status"
)

// What a failed drill does to an object's state. An object that a drill
// could not read back from the other members is at_risk, with the reason,
// until a later drill reads it back (whatever the holders' proofs say: a
// drill reads what a restore would). The failures are kept in the
// metadata store, one key per object, so a restart keeps them; a status
// look reads its object's key only while some failure is recorded
// (Node.drillsClean), which is rare: looks of a quiet node read nothing.

// drillFailedPrefix keys, per object, why the latest drill that read it
// failed.
var drillFailedPrefix = datastore.NewKey("/drill/failed")

// noteDrill records d's outcome per object, tells the event stream, and
// has the objects looked at again (their state may change).
func (n *Node) noteDrill(ctx context.Context, d Drill) error {
	ids := make([]string, 0, len(d.Objects))
	for _, o := range d.Objects {
		if o.CID == "" {
			continue // the capability did not parse: no object to mark
		}
		key := drillFailedPrefix.ChildString(o.CID)
		var err error
		detail := "ok"
		if len(o.From) > 0 {
			detail += " (blocks from " + strings.Join(o.From, ", ") + ")"
		}
		if o.Error == "" {
			err = n.disk.meta.Delete(ctx, key)
		} else {
			detail = o.Error
			n.drillsClean.Store(false) // before the key exists: a look never misses it
			err = n.disk.meta.Put(ctx, key, []byte(o.Error))
		}
		if err != nil {
			return fmt.Errorf("record the drill of %s: %w", o.CID, err)
		}
		n.obs.Queue(netstat.Event{At: d.At, Type: netstat.EventDrillFinished, Object: o.CID, Detail: detail})
		ids = append(ids, o.CID)
	}
	n.noteChanged(ids...)
	return nil
}

// loadDrillsClean sets drillsClean when the store records no failed
// drill.
func (n *Node) loadDrillsClean(ctx context.Context) error {
	clean := true
	if err := n.eachFailedDrill(ctx, func(string) bool { clean = false; return false }); err != nil {
		return err
	}
	n.drillsClean.Store(clean)
	return nil
}

// eachFailedDrill calls fn with the ID of each object whose latest drill
// failed, in ID order, until fn returns false.
func (n *Node) eachFailedDrill(ctx context.Context, fn func(id string) bool) error {
	res, err := n.disk.meta.Query(ctx, query.Query{Prefix: drillFailedPrefix.String() + "/", KeysOnly: true})
	if err != nil {
		return fmt.Errorf("list failed drills: %w", err)
	}
	defer res.Close()
	for e := range res.Next() {
		if e.Error != nil {
			return fmt.Errorf("list failed drills: %w", e.Error)
		}
		if !fn(datastore.NewKey(e.Key).BaseNamespace()) {
			return nil
		}
	}
	return nil
}

// drillFailure says why the latest drill of id failed; "" if it did not.
func (n *Node) drillFailure(ctx context.Context, id string) string {
	if n.drillsClean.Load() {
		return ""
	}
	v, err := n.disk.meta.Get(ctx, drillFailedPrefix.ChildString(id))
	if err != nil {
		if !errors.Is(err, datastore.ErrNotFound) {
			n.logger.Warn("read the drill of an object", "cid", id, "err", err)
		}
		return ""
	}
	return string(v)
}

// settleDrills makes at_risk the live objects of sums (sorted by ID) that
// the latest drill could not read back, unless they are worse off.
func (n *Node) settleDrills(ctx context.Context, sums []status.Summary) error {
	return n.eachFailedDrill(ctx, func(id string) bool {
		i, found := slices.BinarySearchFunc(sums, id, func(s status.Summary, id string) int { return strings.Compare(s.Row.ID, id) })
		if !found {
			return true
		}
		if st := sums[i].Row.State; st == netstat.StateDeleting || st == netstat.StateDeleted || st.Severity() <= netstat.StateAtRisk.Severity() {
			return true // deleted, or worse off already (netstat.Facts.State)
		}
		sums[i].Row.State, sums[i].Young = netstat.StateAtRisk, netstat.StateAtRisk
		return true
	})
}
