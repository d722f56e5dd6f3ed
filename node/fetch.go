package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"golang.org/x/time/rate"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/node/blockstore"
)

// fetch makes sure every block of the DAG under root is in the local store:
// from disk when it is all here, else from connected peers over bitswap.
func (n *Node) fetch(ctx context.Context, root cid.Cid) error {
	return n.fetchLimited(ctx, root, nil)
}

// fetchLimited is fetch with the received bytes paced by limit, if not nil.
func (n *Node) fetchLimited(ctx context.Context, root cid.Cid, limit *rate.Limiter) error {
	complete, err := n.haveAll(ctx, root)
	if err != nil || complete {
		return err
	}
	if err := n.canFetch(root); err != nil {
		return err
	}
	f := n.startFetching(ctx, limit, n.cfg.Fetch.Timeout.Duration, nil)
	defer f.cancel()
	if err := merkledag.FetchGraph(f.ctx, root, merkledag.NewDAGService(f.serv)); err != nil {
		f.batch.Discard()
		return n.fetchFailed(root, f, err)
	}
	if err := f.batch.Commit(f.ctx); err != nil {
		return fmt.Errorf("fetch %s: make blocks durable: %w", root, err)
	}
	return nil
}

// canFetch says why blocks of root cannot come from anywhere, if they
// cannot, and else dials the members that hold it.
func (n *Node) canFetch(root cid.Cid) error {
	if len(n.net.host.Network().Peers()) == 0 {
		return n.noSource(root, ErrNoPeers)
	}
	n.dialSources(root)
	return nil
}

// fetching is one fetch under way: its context, bounded by fetch.timeout
// and cancelled when no block arrives for fetch.stall_timeout, and the
// batch every received block goes to.
type fetching struct {
	ctx      context.Context
	cancel   context.CancelFunc
	stalled  func() bool
	progress *merkledag.ProgressTracker // counts received blocks for the stall watch
	batch    *blockstore.Batch
	serv     blockservice.BlockService // the store, then bitswap; writes into batch
}

// startFetching starts a fetch bounded by timeout (0: none) and by
// fetch.stall_timeout without a block while waiting reports true (nil:
// always waiting).
func (n *Node) startFetching(ctx context.Context, limit *rate.Limiter, timeout time.Duration, waiting func() bool) *fetching {
	f := &fetching{}
	cancel := context.CancelFunc(func() {})
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	}
	f.ctx, f.stalled, f.progress = n.watchProgress(ctx, waiting)
	f.cancel = cancel
	f.batch = n.disk.blocks.NewBatch()
	f.serv = blockservice.New(fetchStore{Store: n.disk.blocks, batch: f.batch, limit: limit}, n.net.bitswap)
	return f
}

// fetchFailed says why the fetch f of root ended with err.
func (n *Node) fetchFailed(root cid.Cid, f *fetching, err error) error {
	switch {
	case f.stalled():
		return n.noSource(root, fmt.Errorf("no peer sent a block for %s (fetch.stall_timeout); is a member that holds it connected?", n.cfg.Fetch.StallTimeout))
	case errors.Is(f.ctx.Err(), context.DeadlineExceeded):
		return n.noSource(root, fmt.Errorf("no connected peer provided every block within %s (fetch.timeout); is a node holding it connected?", n.cfg.Fetch.Timeout))
	}
	return fmt.Errorf("fetch %s: %w", root, err)
}

// fetchStore is the block store a fetch writes through: received blocks go
// to one batch, made durable together when the whole object is here,
// instead of one sync per block. Reads see only blocks already published.
type fetchStore struct {
	*blockstore.Store
	batch *blockstore.Batch
	limit *rate.Limiter // paces what is received; nil: no limit
}

func (f fetchStore) Put(ctx context.Context, b blocks.Block) error {
	if f.limit != nil {
		if err := f.limit.WaitN(ctx, min(len(b.RawData()), f.limit.Burst())); err != nil {
			return err
		}
	}
	return f.batch.Put(ctx, b)
}

func (f fetchStore) PutMany(ctx context.Context, bs []blocks.Block) error {
	for _, b := range bs {
		if err := f.Put(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// errStalled cancels a fetch that stopped receiving blocks.
var errStalled = errors.New("fetch stalled")

// watchProgress cancels ctx when the blocks counted by the returned
// tracker (a DAG walk under ctx counts its own) stop growing for
// fetch.stall_timeout while waiting reports true (nil: always), and
// reports whether that is why it ended. A reader that pauses (a slow disk,
// a pager) asks for nothing and so does not stall.
func (n *Node) watchProgress(ctx context.Context, waiting func() bool) (context.Context, func() bool, *merkledag.ProgressTracker) {
	progress := new(merkledag.ProgressTracker)
	ctx, cancel := context.WithCancelCause(ctx)
	ctx = progress.DeriveContext(ctx)
	stall := n.cfg.Fetch.StallTimeout.Duration
	go func() {
		tick := time.NewTicker(stall / 4)
		defer tick.Stop()
		last, since := -1, time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				if v := progress.Value(); v != last || (waiting != nil && !waiting()) {
					last, since = v, now
				} else if now.Sub(since) >= stall {
					cancel(errStalled)
					return
				}
			}
		}
	}()
	return ctx, func() bool { return errors.Is(context.Cause(ctx), errStalled) }, progress
}

// ErrNoPeers means blocks are missing and no peer is there to ask.
var ErrNoPeers = errors.New("node: some blocks are not on this node and no peer is connected; " +
	"`cairn peers` shows the members and when each was last seen; connect one that holds them with `cairn connect MULTIADDR`")

// noSource is the error of a fetch no peer could serve. Outside a
// federation the way forward is to be admitted to one, not to connect:
// members refuse every node they have not admitted.
func (n *Node) noSource(root cid.Cid, cause error) error {
	if !n.inFederation() {
		return fmt.Errorf("fetch %s: some blocks are not on this node, and only members of a federation can fetch them from its members: %w", root, ErrNoFederation)
	}
	return fmt.Errorf("fetch %s: %w", root, cause)
}

// haveAll reports whether every block of the object at root is stored
// here. A corrupt block is an error, not a missing one.
func (n *Node) haveAll(ctx context.Context, root cid.Cid) (bool, error) {
	complete := true
	err := object.Walk(ctx, root, n.disk.blocks, func(c cid.Cid) error {
		has, err := n.disk.blocks.Has(ctx, c)
		complete = complete && has
		return err
	})
	if ipld.IsNotFound(err) {
		return false, nil
	}
	return complete, err
}
