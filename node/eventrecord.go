package node

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/eventlog"
	"github.com/cairn-fed/cairn/replication"
)

// takeBaseline records the current view of the known objects, without
// events (about 12 µs an object).
func (n *Node) takeBaseline(ctx context.Context, known []replication.ObjectID) {
	start := time.Now()
	for _, id := range known {
		if ctx.Err() != nil {
			return
		}
		n.look(ctx, string(id), true)
	}
	if len(known) > 10000 {
		n.logger.Info("event stream: baseline taken", "objects", len(known), "took", time.Since(start).Round(time.Millisecond))
	}
}

// record takes the baseline of the known objects, then appends events for
// what is reported until ctx ends, and closes the log.
func (n *Node) record(ctx context.Context, log *eventlog.Log, known []replication.ObjectID) {
	defer func() {
		if err := log.Close(); err != nil {
			n.logger.Warn("close event log", "err", err)
		}
	}()
	n.takeBaseline(ctx, known)
	recheck := time.NewTicker(recheckEvery)
	defer recheck.Stop()
	o := &n.obs
	for {
		for ctx.Err() == nil {
			if !n.recordRound(ctx, log) {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-o.wake:
		case <-recheck.C:
			o.note(func(pending map[string]struct{}) {
				for id := range o.transient {
					pending[id] = struct{}{}
				}
			})
		}
	}
}

// recordRound appends the events of one chunk of reports; false when
// there was nothing to do.
func (n *Node) recordRound(ctx context.Context, log *eventlog.Log) bool {
	evs, objs, dropped := n.obs.take(recordChunk)
	if dropped > 0 {
		n.logger.Warn("event stream: node events dropped, the recorder fell behind", "dropped", dropped)
	}
	if len(evs) == 0 && len(objs) == 0 {
		return false
	}
	batches := make([][]netstat.Event, 0, len(objs))
	for _, id := range objs {
		batches = append(batches, n.look(ctx, id, false))
	}
	n.appendAll(ctx, log, [][]netstat.Event{n.placePeers(evs)}) // first: a peer leaves, then its copies are lost
	n.appendAll(ctx, log, batches)
	return true
}

// placePeers adds the operator and region of the peers events name.
func (n *Node) placePeers(evs []netstat.Event) []netstat.Event {
	r := n.currentRoster()
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

// appendAll appends each batch in order, different batches at once.
func (n *Node) appendAll(ctx context.Context, log *eventlog.Log, batches [][]netstat.Event) {
	work := make(chan []netstat.Event)
	var wg sync.WaitGroup
	var failures sync.Map // error text -> struct{}: each failure logged once a round
	for range min(appendWorkers, len(batches)) {
		wg.Go(func() {
			for b := range work {
				for _, ev := range b {
					if _, err := log.Append(ctx, ev); err != nil && ctx.Err() == nil {
						if _, dup := failures.LoadOrStore(err.Error(), struct{}{}); !dup {
							n.logger.Error("event stream: append failed, event lost", "type", ev.Type, "err", err)
						}
					}
				}
			}
		})
	}
	for _, b := range batches {
		if len(b) > 0 {
			work <- b
		}
	}
	close(work)
	wg.Wait()
}

// look derives an object's view, records it, and returns the events its
// change since the last look implies (none for the baseline).
func (n *Node) look(ctx context.Context, id string, baseline bool) []netstat.Event {
	o := &n.obs
	prev, had := o.seen[id]
	cur, err := n.Status(ctx, id)
	if err != nil {
		if had {
			o.forget(id, prev)
		}
		return nil
	}
	checks := n.localChecks(id, cur.Holders)
	var evs []netstat.Event
	if !baseline {
		evs = netstat.Diff(o.viewOf(id, prev, had), cur)
		o.countChallenges(prev, cur, checks)
	}
	o.remember(id, prev, had, cur, checks)
	return evs
}

// remember keeps cur as the object's last view and updates the counts.
func (o *observer) remember(id string, prev seenObject, had bool, cur netstat.ObjectView, checks []check) {
	so := seenObject{state: cur.State, copies: int32(cur.Copies), target: int32(cur.Target),
		deletion: cur.DeletionView, holders: make([]seenHolder, len(cur.Holders))}
	for i, h := range cur.Holders {
		so.holders[i] = seenHolder{peer: o.peers.intern(h), state: holderCode(h.State), checked: checks[i].at}
	}
	o.seen[id] = so
	if so.state == netstat.StateReplicating {
		o.transient[id] = struct{}{}
	} else {
		delete(o.transient, id)
	}
	o.stats.moved(prev, had, so, true)
}

// forget drops an object nothing is known about any more.
func (o *observer) forget(id string, prev seenObject) {
	delete(o.seen, id)
	delete(o.transient, id)
	o.stats.moved(prev, true, seenObject{}, false)
}

// viewOf rebuilds the part of an object's previous view that Diff reads;
// the zero view when there was none.
func (o *observer) viewOf(id string, s seenObject, had bool) netstat.ObjectView {
	if !had {
		return netstat.ObjectView{}
	}
	v := netstat.ObjectView{CID: id, State: s.state, Copies: int(s.copies), Target: int(s.target),
		DeletionView: s.deletion, Holders: make([]netstat.HolderView, len(s.holders))}
	for i, h := range s.holders {
		p := o.peers.info[h.peer]
		v.Holders[i] = netstat.HolderView{PeerID: p.PeerID, Operator: p.Operator, Region: p.Region,
			State: replication.HolderState(h.state).String()}
	}
	return v
}

// holderCodes maps replication's holder state words to their values.
var holderCodes = func() map[string]uint8 {
	m := map[string]uint8{}
	for s := replication.HolderUnverified; s <= replication.HolderUnreachable; s++ {
		m[s.String()] = uint8(s)
	}
	return m
}()

func holderCode(word string) uint8 {
	if c, ok := holderCodes[word]; ok {
		return c
	}
	return 255 // prints as "unknown"
}

// peerTable numbers the peers seen as holders, with their latest
// operator and region, so each kept view stores 4 bytes per holder.
type peerTable struct {
	ids  map[string]uint32
	info []netstat.HolderView // PeerID, Operator and Region only
}

func (t *peerTable) intern(h netstat.HolderView) uint32 {
	if t.ids == nil {
		t.ids = map[string]uint32{}
	}
	i, ok := t.ids[h.PeerID]
	if !ok {
		i = uint32(len(t.info))
		t.ids[h.PeerID] = i
		t.info = append(t.info, netstat.HolderView{PeerID: h.PeerID})
	}
	if h.Operator != "" {
		t.info[i].Operator, t.info[i].Region = h.Operator, h.Region
	}
	return i
}

func (t *peerTable) lookup(peerID string) (uint32, bool) {
	i, ok := t.ids[peerID]
	return i, ok
}

// isShutdown reports whether err only says the node is stopping.
func isShutdown(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, eventlog.ErrClosed)
}
