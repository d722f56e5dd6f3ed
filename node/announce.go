package node

import (
	"context"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/cairn-fed/cairn/replication"
)

// provide queues obj to be announced in the DHT (see replicas.Announcements).
func (n *Node) provide(obj replication.ObjectID) {
	c, err := cid.Decode(string(obj))
	if err != nil {
		return
	}
	if n.repl.announce.Queue(c) {
		n.spawn(n.announceQueued)
	}
}

// announceQueued announces queued objects until none waits.
func (n *Node) announceQueued(ctx context.Context) {
	for {
		c, ok := n.repl.announce.Next()
		if !ok {
			return
		}
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		if err := n.net.dht.Provide(pctx, c, true); err != nil && ctx.Err() == nil {
			n.logger.Debug("announce provider", "cid", c, "err", err)
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
	}
}
