package replicas

import (
	"sync"

	"github.com/ipfs/go-cid"
)

// announceWorkers is how many DHT announcements run at once. Members find
// holders in their ledgers first; the DHT is for everyone else, so a
// backlog after a burst of adds or repairs only delays it, while a
// goroutine per copy would grow with the objects.
const announceWorkers = 4

// Announcements queues objects to announce as provided by this node, each
// once while it waits, and counts the workers announcing them. Its zero
// value is ready.
type Announcements struct {
	mu      sync.Mutex
	waiting []cid.Cid        // guarded by mu
	queued  map[cid.Cid]bool // guarded by mu
	workers int              // guarded by mu
}

// Queue adds c unless it waits already, and reports whether a worker
// should be started for it.
func (a *Announcements) Queue(c cid.Cid) bool {
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

// Next takes the next object to announce, or retires the calling worker
// when none waits.
func (a *Announcements) Next() (cid.Cid, bool) {
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
