// Package events owns what happened on this node, for the event stream,
// `cairn health` and /metrics: the queue of objects to look at again and
// of the node's own events (peers, repairs), the recorder goroutine's last
// view of every object, and the counters that health and metrics read
// (states, challenges, repairs).
//
// Nothing scans every object to find changes. The node names the objects
// whose status may have changed (Changed, Evaluated) and queues the
// events only it sees (Queue, PeerOnline, RepairFinished); one goroutine,
// Run, looks at those objects again through a Source the node implements,
// diffs each with the view it kept (netstat.Diff), and appends the events
// to an eventlog.Log. Only at start does it look at every known object,
// to take the baseline the first changes are measured against.
//
// Lock order: the mutexes of this package (Observer.mu and the counters')
// are leaf locks. None is held across disk IO, an append to the event
// log, or a call into the Source or any other function passed in.
package events

import (
	"log/slog"
	"sync"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/eventlog"
	"github.com/cairn-fed/cairn/replication"
)

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
	// waiting for the recorder; more are dropped and counted.
	maxQueuedEvents = 10000
)

// Observer follows what happens on the node. Its zero value is ready to
// receive reports; Open attaches the log and Run records them.
type Observer struct {
	mu sync.Mutex
	// Guarded by mu.
	log     *eventlog.Log       // nil until Open
	logger  *slog.Logger        // nil until Open
	wake    chan struct{}       // capacity 1; nil until Open
	pending map[string]struct{} // objects to look at again
	queued  []netstat.Event     // the node's own events, not yet appended
	dropped int                 // node events dropped since the last round
	online  map[string]bool     // members reported joined and not left

	stats stats // what health and metrics read; its own mutex

	// Owned by the Run goroutine, which creates them.
	seen      map[string]seenObject // the last view of every object
	transient map[string]struct{}   // objects in a state that age alone can change
	peers     peerTable
}

// Open attaches the log the recorder appends to (and closes when Run
// ends) and the logger it reports through. Reports made before Open are
// kept for the first round.
func (o *Observer) Open(log *eventlog.Log, logger *slog.Logger) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	o.mu.Lock()
	o.log, o.logger, o.wake = log, logger, make(chan struct{}, 1)
	o.mu.Unlock()
}

// Log returns the event log, nil before Open.
func (o *Observer) Log() *eventlog.Log {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.log
}

// Changed reports objects whose status may have changed. It never
// blocks: the recorder looks at them again shortly.
func (o *Observer) Changed(ids ...string) {
	o.note(func(pending map[string]struct{}) {
		for _, id := range ids {
			pending[id] = struct{}{}
		}
	})
}

// Evaluated reports the objects a replication Tick evaluated.
func (o *Observer) Evaluated(ids []replication.ObjectID) {
	if len(ids) == 0 {
		return
	}
	o.note(func(pending map[string]struct{}) {
		for _, id := range ids {
			pending[string(id)] = struct{}{}
		}
	})
}

// Queue adds one of the node's own events. It never blocks: past
// maxQueuedEvents waiting, the event is dropped and counted.
func (o *Observer) Queue(ev netstat.Event) {
	o.mu.Lock()
	if len(o.queued) < maxQueuedEvents {
		o.queued = append(o.queued, ev)
	} else {
		o.dropped++
	}
	o.mu.Unlock()
	o.signal()
}

// PeerOnline reports at at that a peer connected (online) or lost its
// last connection. Only changes are queued: a second connection to a
// peer already online is not another peer_joined.
func (o *Observer) PeerOnline(peer string, online bool, at time.Time) {
	o.mu.Lock()
	if o.online == nil {
		o.online = map[string]bool{}
	}
	changed := o.online[peer] != online
	if online {
		o.online[peer] = true
	} else {
		delete(o.online, peer)
	}
	o.mu.Unlock()
	if !changed {
		return
	}
	t := netstat.EventPeerLeft
	if online {
		t = netstat.EventPeerJoined
	}
	o.Queue(netstat.Event{At: at, Type: t, Peer: peer})
}

// RepairStarted reports at at that this node started fetching a copy of obj.
func (o *Observer) RepairStarted(obj string, at time.Time) {
	o.Queue(netstat.Event{At: at, Type: netstat.EventRepairStarted, Object: obj})
}

// RepairFinished counts a repair fetch of obj that ended at at, with err
// nil for "ok", and queues its event.
func (o *Observer) RepairFinished(obj string, err error, at time.Time) {
	detail := "ok"
	if err != nil {
		detail = err.Error()
	}
	o.stats.repairDone(err == nil)
	o.Queue(netstat.Event{At: at, Type: netstat.EventRepairFinished, Object: obj, Detail: detail})
}

// note adds objects to look at through add, then wakes the recorder.
func (o *Observer) note(add func(pending map[string]struct{})) {
	o.mu.Lock()
	if o.pending == nil {
		o.pending = map[string]struct{}{}
	}
	add(o.pending)
	o.mu.Unlock()
	o.signal()
}

func (o *Observer) signal() {
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

// take removes and returns the queued node events, up to max pending
// objects and the count of events dropped since the last take.
func (o *Observer) take(max int) (evs []netstat.Event, objs []string, dropped int) {
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
