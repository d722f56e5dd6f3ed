package membership

import (
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// DialBackoff remembers, per member, when to try dialling it next: the
// wait doubles with each failure, from Min up to Max.
type DialBackoff struct {
	// Set at construction.
	Min, Max time.Duration

	mu    sync.Mutex
	next  map[peer.ID]time.Time     // guarded by mu
	delay map[peer.ID]time.Duration // guarded by mu
}

// Due reports whether p may be dialled at now.
func (b *DialBackoff) Due(p peer.ID, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !now.Before(b.next[p])
}

// Failed doubles p's delay, from Min up to Max.
func (b *DialBackoff) Failed(p peer.ID, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.next == nil {
		b.next, b.delay = map[peer.ID]time.Time{}, map[peer.ID]time.Duration{}
	}
	d := min(max(2*b.delay[p], b.Min), b.Max)
	b.delay[p], b.next[p] = d, now.Add(d)
}

// Succeeded resets p's delay.
func (b *DialBackoff) Succeeded(p peer.ID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.next, p)
	delete(b.delay, p)
}

// MembersToDial picks, at random among the missing members that are due,
// as many as bring the node's connections up to lowWater.
func MembersToDial(missing []peer.ID, connections, lowWater int, due func(peer.ID) bool) []peer.ID {
	var out []peer.ID
	for _, i := range mrand.Perm(len(missing)) {
		if len(out) >= lowWater-connections {
			break
		}
		if due(missing[i]) {
			out = append(out, missing[i])
		}
	}
	return out
}
