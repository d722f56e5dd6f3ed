package node

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/node/blockstore"
)

// The store checks what it reads: a restore does not hash each block
// again.
var _ object.CheckingGetter = (*blockstore.Store)(nil)

// Read opens the object a capability names, to be read while its missing
// blocks arrive: where Open fetches every block before it returns, Read
// fetches only the root and the manifest, and the object's reads fetch
// the chunks they need from the members holding them, many at a time
// (object.Object reads ahead), so fetching, checking, decrypting and
// writing the output overlap.
//
// The caller must call finish once, with the error that ended its reading
// (nil if it read everything it wanted). finish makes the received blocks
// durable, even after a failure: a get that is interrupted keeps what
// arrived, and the next get of the object fetches only the rest. After a
// complete read it fetches any block the read did not need and records
// the copy, as Open does.
func (n *Node) Read(ctx context.Context, capability string) (obj *object.Object, finish func(readErr error) error, err error) {
	release := n.writingBlocks() // until its blocks are counted (blockgate.go)
	defer func() {
		if err != nil {
			release()
		}
	}()
	cp, err := n.readable(capability)
	if err != nil {
		return nil, nil, err
	}
	root := cp.Root()
	complete, err := n.haveAll(ctx, root)
	if err != nil {
		return nil, nil, err
	}
	if complete {
		if obj, err = object.Open(ctx, cp, n.disk.blocks); err != nil {
			return nil, nil, err
		}
		return obj, func(readErr error) error {
			defer release()
			if readErr != nil {
				return readErr
			}
			return n.recordHeld(ctx, root, obj.Header().Encrypted)
		}, nil
	}
	if err := n.canFetch(root); err != nil {
		return nil, nil, err
	}
	// No overall fetch.timeout: the stream lasts as long as the client
	// reads. Only a fetch waiting fetch.stall_timeout for a block fails.
	g := &readingGetter{}
	f := n.startFetching(ctx, nil, 0, func() bool { return g.waiting.Load() > 0 })
	g.f = f
	if obj, err = object.Open(f.ctx, cp, g); err != nil {
		f.keep()
		return nil, nil, n.fetchFailed(root, f, err)
	}
	return obj, func(readErr error) error {
		defer release()
		if err := f.keep(); err != nil {
			return fmt.Errorf("fetch %s: make blocks durable: %w", root, err)
		}
		if readErr != nil {
			return n.fetchFailed(root, f, readErr)
		}
		if n.isDeleted(root.String()) { // deleted while it was read: keep no copy
			return fmt.Errorf("%w while it was read: %s", ErrDeleted, root)
		}
		if err := n.fetch(ctx, root); err != nil {
			return err
		}
		return n.recordHeld(ctx, root, obj.Header().Encrypted)
	}, nil
}

// readable parses a capability and refuses one whose object was deleted.
func (n *Node) readable(capability string) (object.Capability, error) {
	cp, err := object.ParseCapability(capability)
	if err != nil {
		if _, cerr := cid.Decode(strings.TrimSpace(capability)); cerr == nil {
			return object.Capability{}, fmt.Errorf("%w; %s is a CID, not a capability: `cairn ls --json` lists the capabilities of your objects, and `cairn export CID -o FILE.car` writes a CID's DAG as a bundle", err, strings.TrimSpace(capability))
		}
		return object.Capability{}, err
	}
	if n.isDeleted(cp.Root().String()) {
		return object.Capability{}, fmt.Errorf("%w: %s was deleted by its owner or a takedown", ErrDeleted, cp.Root())
	}
	return cp, nil
}

// keep makes every block received so far durable and ends the fetch.
func (f *fetching) keep() error {
	defer f.cancel()
	return f.batch.Commit(context.WithoutCancel(f.ctx))
}

// readingGetter gets the blocks of a Read: from the store, else from the
// members over bitswap, into the fetch's batch. Each call ends when its
// own context or the fetch's (timeout, stall) ends.
type readingGetter struct {
	f       *fetching
	waiting atomic.Int32 // Gets under way
}

func (g *readingGetter) Get(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	g.waiting.Add(1)
	defer g.waiting.Add(-1)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(g.f.ctx, func() { cancel(context.Cause(g.f.ctx)) })
	defer stop()
	b, err := g.f.serv.GetBlock(ctx, c)
	if err == nil {
		g.f.progress.Update(uint64(len(b.RawData())))
	}
	return b, err
}

// ChecksBlocks: the store hashes what it reads, bitswap what it receives
// (a received block's CID is computed from its bytes).
func (g *readingGetter) ChecksBlocks() {}
