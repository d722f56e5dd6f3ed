package node

import (
	"context"
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
	n.repl.Read(func(c *replication.Core) { known = c.Objects() })
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
