package node

import (
	"context"
	"sync"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// work is every goroutine the node runs: those spawn starts and the
// stream handlers serving peers. Close stops it before closing the
// storage, and waits for all of it.
type work struct {
	life   context.Context // ends when stop is called; set at construction
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex // a leaf lock: never held while calling out
	stopping bool       // set by stop: nothing more starts; guarded by mu
}

func newWork() *work {
	w := &work{}
	w.life, w.cancel = context.WithCancel(context.Background())
	return w
}

// spawn runs fn in a goroutine under the node's life, unless the node is
// stopping: then the storage fn would use may be gone, and it never runs.
func (w *work) spawn(fn func(ctx context.Context)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopping {
		return
	}
	w.wg.Go(func() { fn(w.life) })
}

// enter counts the caller among the work, unless the node is stopping;
// the caller calls w.wg.Done when it is finished.
func (w *work) enter() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopping {
		return false
	}
	w.wg.Add(1)
	return true
}

// stop ends the node's life and starts nothing more.
func (w *work) stop() {
	w.cancel()
	w.mu.Lock()
	w.stopping = true
	w.mu.Unlock()
}

// spawn runs fn in a goroutine that Close cancels and waits for.
func (n *Node) spawn(fn func(ctx context.Context)) { n.work.spawn(fn) }

// handle serves protocol pid with h, counting each stream among the
// node's work so that Close waits for it before closing the storage, and
// resetting streams that arrive once Close has begun.
func (n *Node) handle(pid protocol.ID, h func(context.Context, network.Stream)) {
	n.net.host.SetStreamHandler(pid, func(s network.Stream) {
		if !n.work.enter() {
			s.Reset()
			return
		}
		defer n.work.wg.Done()
		h(n.work.life, s)
	})
}
