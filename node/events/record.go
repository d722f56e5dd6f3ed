package events

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/eventlog"
	"github.com/cairn-fed/cairn/replication"
)

// Source is what the recorder reads from the node. Its methods are called
// from the Run goroutine only, with none of this package's locks held.
type Source interface {
	// Look returns an object's current view; false when nothing is known
	// about it.
	Look(ctx context.Context, id string) (netstat.ObjectView, bool)
	// Checks returns this node's latest challenge of each of the holders,
	// in their order (the zero Check for a holder never challenged).
	Checks(id string, holders []netstat.HolderView) []Check
	// PlacePeers fills in the operator and region of the peers the events
	// name, as far as the node knows them.
	PlacePeers(evs []netstat.Event) []netstat.Event
}

// Check is this node's latest challenge of one holder.
type Check struct {
	At     int64 // unix ms; 0 when never
	Result replication.Result
}

// seenObject is the compact last view of one object: what Diff needs of
// the previous view, and this node's latest challenge of each holder.
type seenObject struct {
	holders  []seenHolder
	deletion *netstat.DeletionView
	copies   int32
	target   int32
	state    netstat.State
}

type seenHolder struct {
	checked int64  // unix ms of this node's latest challenge of it; 0 if none
	peer    uint32 // index in Observer.peers
	state   uint8  // replication.HolderState
}

// Run takes the baseline of the known objects (their current views,
// without events: what happened while the node was down is not reported),
// then appends events for what is reported until ctx ends, and closes the
// log. It runs once, after Open, in a goroutine of its own.
func (o *Observer) Run(ctx context.Context, src Source, known []string) {
	o.mu.Lock()
	log, logger, wake := o.log, o.logger, o.wake
	o.mu.Unlock()
	defer func() {
		if err := log.Close(); err != nil {
			logger.Warn("close event log", "err", err)
		}
	}()
	o.seen, o.transient = make(map[string]seenObject, len(known)), map[string]struct{}{}
	o.takeBaseline(ctx, src, known, logger)
	recheck := time.NewTicker(recheckEvery)
	defer recheck.Stop()
	for {
		for ctx.Err() == nil {
			if !o.round(ctx, src, log, logger) {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-recheck.C:
			o.note(func(pending map[string]struct{}) {
				for id := range o.transient {
					pending[id] = struct{}{}
				}
			})
		}
	}
}

// takeBaseline records the current view of the known objects, without
// events (about 12 µs an object).
func (o *Observer) takeBaseline(ctx context.Context, src Source, known []string, logger *slog.Logger) {
	start := time.Now()
	for _, id := range known {
		if ctx.Err() != nil {
			return
		}
		o.look(ctx, src, id, true)
	}
	if len(known) > 10000 {
		logger.Info("event stream: baseline taken", "objects", len(known), "took", time.Since(start).Round(time.Millisecond))
	}
}

// round appends the events of one chunk of reports; false when there was
// nothing to do.
func (o *Observer) round(ctx context.Context, src Source, log *eventlog.Log, logger *slog.Logger) bool {
	evs, objs, dropped := o.take(recordChunk)
	if dropped > 0 {
		logger.Warn("event stream: node events dropped, the recorder fell behind", "dropped", dropped)
	}
	if len(evs) == 0 && len(objs) == 0 {
		return false
	}
	batches := make([][]netstat.Event, 0, len(objs))
	for _, id := range objs {
		batches = append(batches, o.look(ctx, src, id, false))
	}
	appendAll(ctx, log, logger, [][]netstat.Event{src.PlacePeers(evs)}) // first: a peer leaves, then its copies are lost
	appendAll(ctx, log, logger, batches)
	return true
}

// appendAll appends each batch in order, different batches at once.
func appendAll(ctx context.Context, log *eventlog.Log, logger *slog.Logger, batches [][]netstat.Event) {
	work := make(chan []netstat.Event)
	var wg sync.WaitGroup
	var failures sync.Map // error text -> struct{}: each failure logged once a round
	for range min(appendWorkers, len(batches)) {
		wg.Go(func() {
			for b := range work {
				for _, ev := range b {
					if _, err := log.Append(ctx, ev); err != nil && ctx.Err() == nil {
						if _, dup := failures.LoadOrStore(err.Error(), struct{}{}); !dup {
							logger.Error("event stream: append failed, event lost", "type", ev.Type, "err", err)
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
func (o *Observer) look(ctx context.Context, src Source, id string, baseline bool) []netstat.Event {
	prev, had := o.seen[id]
	cur, ok := src.Look(ctx, id)
	if !ok {
		if had {
			o.forget(id, prev)
		}
		return nil
	}
	checks := src.Checks(id, cur.Holders)
	var evs []netstat.Event
	if !baseline {
		evs = netstat.Diff(o.viewOf(id, prev, had), cur)
		o.countChallenges(prev, cur, checks)
	}
	o.remember(id, prev, had, cur, checks)
	return evs
}

// remember keeps cur as the object's last view and updates the counts.
func (o *Observer) remember(id string, prev seenObject, had bool, cur netstat.ObjectView, checks []Check) {
	so := seenObject{state: cur.State, copies: int32(cur.Copies), target: int32(cur.Target),
		deletion: cur.DeletionView, holders: make([]seenHolder, len(cur.Holders))}
	for i, h := range cur.Holders {
		so.holders[i] = seenHolder{peer: o.peers.intern(h), state: holderCode(h.State), checked: checks[i].At}
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
func (o *Observer) forget(id string, prev seenObject) {
	delete(o.seen, id)
	delete(o.transient, id)
	o.stats.moved(prev, true, seenObject{}, false)
}

// viewOf rebuilds the part of an object's previous view that Diff reads;
// the zero view when there was none.
func (o *Observer) viewOf(id string, s seenObject, had bool) netstat.ObjectView {
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

// countChallenges counts the challenges this node finished since the
// previous view.
func (o *Observer) countChallenges(prev seenObject, cur netstat.ObjectView, checks []Check) {
	for i, h := range cur.Holders {
		c := checks[i]
		if c.At == 0 || c.At <= prev.checked(o.peers.lookup(h.PeerID)) {
			continue
		}
		o.stats.challenged(h, c, time.UnixMilli(c.At))
	}
}

func (s seenObject) checked(peer uint32, ok bool) int64 {
	if !ok {
		return 0
	}
	for _, h := range s.holders {
		if h.peer == peer {
			return h.checked
		}
	}
	return 0
}

func (s seenObject) underReplicated() bool {
	return s.target > 0 && s.copies < s.target && s.state != netstat.StateDeleting && s.state != netstat.StateDeleted
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
