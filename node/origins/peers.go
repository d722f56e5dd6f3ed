package origins

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// originPeers counts, for each origin peer, the fetches under way that
// asked it, so that the end of one fetch does not disconnect a peer
// another still fetches from (a Kubo with two pin requests at once).
type originPeers struct {
	mu    sync.Mutex
	inUse map[peer.ID]int // guarded by mu
}

func (o *originPeers) use(peers []peer.AddrInfo) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range peers {
		o.inUse[p.ID]++
	}
}

// done ends one fetch's use of peers and returns those no fetch uses now.
func (o *originPeers) done(peers []peer.AddrInfo) []peer.ID {
	o.mu.Lock()
	defer o.mu.Unlock()
	var idle []peer.ID
	for _, p := range peers {
		if o.inUse[p.ID]--; o.inUse[p.ID] <= 0 {
			delete(o.inUse, p.ID)
			idle = append(idle, p.ID)
		}
	}
	return idle
}

// release ends a fetch's use of its origin peers and disconnects those no
// other fetch uses. A fetch that starts between the two may find its
// connection closed under it; it dials again or stalls, as after any
// disconnect.
func (f *Fetcher) release(peers []peer.AddrInfo) {
	for _, id := range f.origins.done(peers) {
		_ = f.host.Network().ClosePeer(id)
	}
}

// awaitDialer waits up to wait for one of peers to be connected (it dialled
// the fetcher) and reports whether one is.
func (f *Fetcher) awaitDialer(ctx context.Context, peers []peer.AddrInfo, wait time.Duration) bool {
	want := make(map[peer.ID]bool, len(peers)) // read-only once built: the notifiee reads it
	for _, p := range peers {
		want[p.ID] = true
	}
	arrived := make(chan struct{}, 1)
	watch := &network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		if want[c.RemotePeer()] {
			select {
			case arrived <- struct{}{}:
			default:
			}
		}
	}}
	f.host.Network().Notify(watch)
	defer f.host.Network().StopNotify(watch)
	for id := range want {
		if f.host.Network().Connectedness(id) == network.Connected {
			return true
		}
	}
	if f.awaiting != nil {
		f.awaiting()
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-arrived:
		return true
	case <-timer.C:
	case <-ctx.Done():
	}
	return false
}
