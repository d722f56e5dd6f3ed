package node

import (
	"context"
	"errors"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/eventlog"
	"github.com/cairn-fed/cairn/node/events"
	"github.com/cairn-fed/cairn/node/repo"
	"github.com/cairn-fed/cairn/replication"
)

// The event stream. The node keeps an eventlog.Log in the repository's
// events directory; package events records in it what netstat.Diff
// derives from two successive views of an object, plus what only the
// node sees: repairs it runs and members coming and going. This file is
// the wiring: the reports other node code makes, and eventSource, what
// the recorder reads of the node.

// startEvents opens the event log and starts recording. It runs once
// the ledger is restored, and lists the objects known now: the recorder
// takes their baseline, while any object added from here on is reported
// as added.
func (n *Node) startEvents(r *repo.Repo) error {
	log, err := eventlog.Open(r.Path(repo.EventsDir), eventlog.DefaultConfig(), n.logger.With("part", "events"))
	if err != nil {
		return err
	}
	var known []string
	n.repl.Read(func(c *replication.Core) {
		ids := c.Objects()
		known = make([]string, len(ids))
		for i, id := range ids {
			known[i] = string(id)
		}
	})
	n.obs.Open(log, n.logger)
	n.spawn(func(ctx context.Context) { n.obs.Run(ctx, eventSource{n}, known) })
	return nil
}

// EventLog returns the node's event log, which the API serves.
func (n *Node) EventLog() *eventlog.Log { return n.obs.Log() }

// noteChanged reports objects whose status may have changed outside the
// replication core's view (a tombstone applied, a deletion acknowledged).
// It never blocks: the recorder looks at them again shortly.
func (n *Node) noteChanged(objs ...string) { n.obs.Changed(objs...) }

// recordChanged hands the recorder the objects a Tick evaluated.
func (n *Node) recordChanged(objs []replication.ObjectID) { n.obs.Evaluated(objs) }

// noteRepairStarted reports that this node started fetching a copy.
func (n *Node) noteRepairStarted(f replication.Fetch) {
	n.obs.RepairStarted(string(f.Object), time.Now())
}

// noteRepairFinished reports how a repair fetch ended: err nil is "ok".
// A fetch cut short by the node stopping is not reported.
func (n *Node) noteRepairFinished(obj replication.ObjectID, err error) {
	if isShutdown(err) {
		return
	}
	n.obs.RepairFinished(string(obj), err, time.Now())
}

// notePeer reports that a peer connected (online) or lost its last
// connection; the recorder keeps only changes.
func (n *Node) notePeer(p peer.ID, online bool) {
	n.obs.PeerOnline(p.String(), online, time.Now())
}

// isShutdown reports whether err only says the node is stopping.
func isShutdown(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, eventlog.ErrClosed)
}

// eventSource is what the event recorder reads of the node.
type eventSource struct{ n *Node }

var _ events.Source = eventSource{}

// Look returns the object's view, as cairn status CID shows it.
func (s eventSource) Look(ctx context.Context, id string) (netstat.ObjectView, bool) {
	v, err := s.n.Status(ctx, id)
	return v, err == nil
}

// Checks returns this node's latest challenge of each holder.
func (s eventSource) Checks(id string, holders []netstat.HolderView) []events.Check {
	out := make([]events.Check, len(holders))
	self := replication.PeerID(s.n.net.host.ID().String())
	s.n.repl.Read(func(c *replication.Core) {
		for i, h := range holders {
			if h.Local {
				continue
			}
			if at, r, ok := c.Ledger().Check(replication.ObjectID(id), self, replication.PeerID(h.PeerID)); ok {
				out[i] = events.Check{At: at.UnixMilli(), Result: r}
			}
		}
	})
	return out
}

// PlacePeers adds the operator and region of the peers events name.
func (s eventSource) PlacePeers(evs []netstat.Event) []netstat.Event {
	r := s.n.currentRoster()
	if r == nil {
		return evs
	}
	for i := range evs {
		if evs[i].Peer == "" {
			continue
		}
		if m, ok := r.Member(evs[i].Peer); ok {
			evs[i].Operator, evs[i].Region = m.Operator, m.Region
		}
	}
	return evs
}
