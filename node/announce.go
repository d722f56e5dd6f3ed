package node

import (
	"context"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/cairn-fed/cairn/replication"
)

// provide queues obj to be announced in the DHT (see announcer).
func (n *Node) provide(obj replication.ObjectID) {
	c, err := cid.Decode(string(obj))
	if err != nil {
		return
	}
	if n.announce.queue(c) {
		n.spawn(n.announceQueued)
	}
}

// announceWorkers is how many DHT announcements run at once. Members find
// holders in their ledgers first; the DHT is for everyone else, so a
// backlog after a burst of adds or repairs only delays it, while a
// goroutine per copy would grow with the objects.
const announceWorkers = 4

// announcer queues objects to announce as provided by this node, each
// once while it waits, and counts the workers announcing them.
type announcer struct {
	mu      sync.Mutex
	waiting []cid.Cid        // guarded by mu
	queued  map[cid.Cid]bool // guarded by mu
	workers int              // guarded by mu
}

// queue adds c unless it waits already, and reports whether a worker
// should be started for it.
func (a *announcer) queue(c cid.Cid) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.queued == nil {
		a.queued = map[cid.Cid]bool{}
	}
	if !a.queued[c] {
		a.queued[c] = true
		a.waiting = append(a.waiting, c)
	}
	if a.workers >= announceWorkers {
		return false
	}
	a.workers++
	return true
}

// next takes the next object to announce, or retires the calling worker
// when none waits.
func (a *announcer) next() (cid.Cid, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.waiting) == 0 {
		a.workers--
		return cid.Undef, false
	}
	c := a.waiting[0]
	a.waiting = a.waiting[1:]
	delete(a.queued, c)
	return c, true
}

// announceQueued announces queued objects until none waits.
func (n *Node) announceQueued(ctx context.Context) {
	for {
		c, ok := n.announce.next()
		if !ok {
			return
		}
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		if err := n.dht.Provide(pctx, c, true); err != nil && ctx.Err() == nil {
			n.logger.Debug("announce provider", "cid", c, "err", err)
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
	}
}
