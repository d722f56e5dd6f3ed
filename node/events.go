package node

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/eventlog"
	"github.com/cairn-fed/cairn/node/repo"
	"github.com/cairn-fed/cairn/replication"
)

// The event stream. The node keeps an eventlog.Log in the repository's
// events directory and appends to it what netstat.Diff derives from two
// successive views of an object, plus what only the node sees: repairs
// it runs and members coming and going.
//
// Nothing scans every object to find changes. Each replication Tick
// names the objects it evaluated (Actions.Changed) and other node code
// names the ones it touched (noteChanged); one goroutine, record, looks
// at those again, diffs each with the view it kept, and appends the
// events. Only at start does it look at every object, to take the
// baseline the first changes are measured against: what happened while
// the node was down is not reported.

// eventsDir is the event log's directory inside the repository.
const eventsDir = "events"

const (
	// recordChunk bounds the objects looked at per round, so a burst (a
	// peer leaving with a million copies) is appended piece by piece.
	recordChunk = 512
	// recheckEvery is how often objects whose state can change with age
	// alone (replicating turns at_risk after netstat's AtRiskGrace) are
	// looked at again.
	recheckEvery = 5 * time.Second
	// appendWorkers append different objects' events at once, so that
	// the log's group commit shares one sync among them; each object's
	// events stay in order.
	appendWorkers = 8
	// maxQueuedEvents bounds the node's own events (peers, repairs)
	// waiting for record; more are dropped and counted.
	maxQueuedEvents = 10000
)

// observer follows what happens on the node for the event stream, cairn
// health and /metrics. Its zero value is ready to receive reports;
// startEvents opens the log and starts the goroutine that records them.
type observer struct {
	mu sync.Mutex
	// Guarded by mu.
	log     *eventlog.Log       // nil until startEvents
	wake    chan struct{}       // capacity 1; nil until startEvents
	pending map[string]struct{} // objects to look at again
	queued  []netstat.Event     // the node's own events, not yet appended
	dropped int                 // node events dropped since the last round
	online  map[peer.ID]bool    // members reported joined and not left

	stats stats      // what health and metrics read; its own mutex
	usage usageCache // the block store's usage; its own mutex

	// Owned by the record goroutine (by startEvents before it starts).
	seen      map[string]seenObject // the last view of every object
	transient map[string]struct{}   // objects in a state that age alone can change
	peers     peerTable
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
	peer    uint32 // index in observer.peers
	state   uint8  // replication.HolderState
}

// startEvents opens the event log and starts recording. It runs once
// the ledger is restored, and lists the objects known now: the recorder
// takes their baseline, while any object added from here on is reported
// as added.
func (n *Node) startEvents(r *repo.Repo) error {
	log, err := eventlog.Open(r.Path(eventsDir), eventlog.DefaultConfig(), n.logger.With("part", "events"))
	if err != nil {
		return err
	}
	var known []replication.ObjectID
	n.repl.read(func(c *replication.Core) { known = c.Objects() })
	o := &n.obs
	o.seen, o.transient = make(map[string]seenObject, len(known)), map[string]struct{}{}
	o.mu.Lock()
	o.log, o.wake = log, make(chan struct{}, 1)
	o.mu.Unlock()
	n.spawn(func(ctx context.Context) { n.record(ctx, log, known) })
	return nil
}

// EventLog returns the node's event log, which the API serves.
func (n *Node) EventLog() *eventlog.Log {
	n.obs.mu.Lock()
	defer n.obs.mu.Unlock()
	return n.obs.log
}

// noteChanged reports objects whose status may have changed outside the
// replication core's view (a tombstone applied, a deletion acknowledged).
// It never blocks: the recorder looks at them again shortly.
func (n *Node) noteChanged(objs ...string) {
	n.obs.note(func(pending map[string]struct{}) {
		for _, o := range objs {
			pending[o] = struct{}{}
		}
	})
}

// recordChanged hands the recorder the objects a Tick evaluated.
func (n *Node) recordChanged(objs []replication.ObjectID) {
	if len(objs) == 0 {
		return
	}
	n.obs.note(func(pending map[string]struct{}) {
		for _, o := range objs {
			pending[string(o)] = struct{}{}
		}
	})
}

// noteRepairStarted reports that this node started fetching a copy.
func (n *Node) noteRepairStarted(f replication.Fetch) {
	n.obs.queue(netstat.Event{At: time.Now(), Type: netstat.EventRepairStarted, Object: string(f.Object)})
}

// noteRepairFinished reports how a repair fetch ended: err nil is "ok".
// A fetch cut short by the node stopping is not reported.
func (n *Node) noteRepairFinished(obj replication.ObjectID, err error) {
	detail := "ok"
	switch {
	case isShutdown(err):
		return
	case err != nil:
		detail = err.Error()
	}
	n.obs.stats.repairDone(err == nil)
	n.obs.queue(netstat.Event{At: time.Now(), Type: netstat.EventRepairFinished, Object: string(obj), Detail: detail})
}

// notePeer reports that a peer connected (online) or lost its last
// connection. Only changes are recorded: a second connection to a peer
// already online is not another peer_joined.
func (n *Node) notePeer(p peer.ID, online bool) {
	o := &n.obs
	o.mu.Lock()
	if o.online == nil {
		o.online = map[peer.ID]bool{}
	}
	changed := o.online[p] != online
	if online {
		o.online[p] = true
	} else {
		delete(o.online, p)
	}
	o.mu.Unlock()
	if !changed {
		return
	}
	t := netstat.EventPeerLeft
	if online {
		t = netstat.EventPeerJoined
	}
	o.queue(netstat.Event{At: time.Now(), Type: t, Peer: p.String()})
}

// note adds objects to look at through add, then wakes the recorder.
func (o *observer) note(add func(pending map[string]struct{})) {
	o.mu.Lock()
	if o.pending == nil {
		o.pending = map[string]struct{}{}
	}
	add(o.pending)
	o.mu.Unlock()
	o.signal()
}

// queue adds one of the node's own events, then wakes the recorder.
func (o *observer) queue(ev netstat.Event) {
	o.mu.Lock()
	if len(o.queued) < maxQueuedEvents {
		o.queued = append(o.queued, ev)
	} else {
		o.dropped++
	}
	o.mu.Unlock()
	o.signal()
}

func (o *observer) signal() {
	o.mu.Lock()
	wake := o.wake
	o.mu.Unlock()
	if wake == nil {
		return
	}
	select {
	case wake <- struct{}{}:
	default:
	}
}

// take removes and returns the queued node events and up to max pending
// objects.
func (o *observer) take(max int) (evs []netstat.Event, objs []string, dropped int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	evs, o.queued = o.queued, nil
	dropped, o.dropped = o.dropped, 0
	for id := range o.pending {
		if len(objs) == max {
			break
		}
		objs = append(objs, id)
		delete(o.pending, id)
	}
	return evs, objs, dropped
}

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
