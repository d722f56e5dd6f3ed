package node

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ipfs/go-cid"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/node/origins"
)

// PinOptions are the choices of `cairn pin`.
type PinOptions struct {
	// Origins are where to fetch the DAG from: multiaddrs of IPFS peers
	// with /p2p/, or trustless gateway URLs.
	Origins  []string
	Name     string // shown in listings to the owner only
	Replicas int    // 0: the configured default
	// OnProgress, if not nil, hears what the fetch received so far.
	OnProgress func(origins.Progress)
	// AwaitDialers waits for a client to dial the fetcher when no origin
	// can be reached (origins.Options.AwaitDialers): the Pinning Service.
	AwaitDialers bool
}

// Pin fetches an existing IPFS DAG from its origins (unless it is all
// here already), every block verified, and keeps it as an object of this
// node's owner, replicated like an add: what `ipfs pin remote add` asks of
// a pinning service. A fetch that fails leaves nothing behind.
func (n *Node) Pin(ctx context.Context, root cid.Cid, opts PinOptions) (ImportResult, error) {
	if n.keys.recovering.Load() {
		return ImportResult{}, fmt.Errorf("pin: %w; pin again when it is done", ErrRecovering)
	}
	if err := object.CheckDAGCID(root); err != nil {
		return ImportResult{}, fmt.Errorf("pin %s: %w", root, err)
	}
	from, err := origins.ParseAll(opts.Origins)
	if err != nil {
		return ImportResult{}, fmt.Errorf("pin %s: %w", root, err)
	}
	replicas := opts.Replicas
	if replicas == 0 {
		replicas = n.cfg.Add.Replicas
	}
	ing := n.newIngest()
	if !n.haveDAG(ctx, root) {
		f, err := n.originsFetcher()
		if err != nil {
			ing.abort()
			return ImportResult{}, err
		}
		err = f.Fetch(ctx, root, from, ing, origins.Options{
			Timeout: n.cfg.Fetch.Timeout.Duration, StallTimeout: n.cfg.Fetch.StallTimeout.Duration,
			OnProgress: opts.OnProgress, AwaitDialers: opts.AwaitDialers,
		})
		if err == nil {
			err = ing.commit(ctx)
		}
		if err != nil {
			ing.abort()
			return ImportResult{}, err
		}
	}
	res, existing, err := n.ownDAG(ctx, root, opts.Name, replicas)
	if err != nil {
		ing.abort()
		if errors.Is(err, ErrBadBundle) {
			err = fmt.Errorf("%w (the origins sent an incomplete or invalid DAG)", err)
		}
		return ImportResult{}, err
	}
	fresh := ing.freshCount()
	ing.finish()
	return ImportResult{AddResult: res, DAG: root.String(), Blocks: ing.count(), New: fresh, Existing: existing}, nil
}

// haveDAG reports whether every block of the DAG under root is here.
func (n *Node) haveDAG(ctx context.Context, root cid.Cid) bool {
	return object.WalkDAG(ctx, root, n.disk.blocks, func(c cid.Cid) error {
		ok, err := n.disk.blocks.Has(ctx, c)
		if err == nil && !ok {
			err = errMissingBlock
		}
		return err
	}) == nil
}

var errMissingBlock = errors.New("node: block missing")

// originsState holds the fetcher of DAGs from outside the federation,
// started on first use (or by StartOrigins) and closed with the node.
type originsState struct {
	mu      sync.Mutex
	fetcher *origins.Fetcher // guarded by mu
}

// StartOrigins starts the fetcher of DAGs from outside the federation
// listening on listen, so that IPFS peers can dial it (a Pinning Service
// client connects to the delegates the service names). Without it, the
// fetcher only dials out.
func (n *Node) StartOrigins(listen []string) error {
	n.origins.mu.Lock()
	defer n.origins.mu.Unlock()
	if n.origins.fetcher != nil {
		return nil
	}
	f, err := origins.New(context.Background(), listen, n.disk.blocks, n.logger)
	if err != nil {
		return err
	}
	n.origins.fetcher = f
	return nil
}

func (n *Node) originsFetcher() (*origins.Fetcher, error) {
	if err := n.StartOrigins(nil); err != nil {
		return nil, err
	}
	n.origins.mu.Lock()
	defer n.origins.mu.Unlock()
	return n.origins.fetcher, nil
}

// OriginAddrs returns the addresses IPFS peers can dial to reach the
// fetcher, if it listens.
func (n *Node) OriginAddrs() []string {
	n.origins.mu.Lock()
	defer n.origins.mu.Unlock()
	if n.origins.fetcher == nil {
		return nil
	}
	return n.origins.fetcher.Addrs()
}

func (n *Node) closeOrigins() error {
	n.origins.mu.Lock()
	defer n.origins.mu.Unlock()
	if n.origins.fetcher == nil {
		return nil
	}
	return n.origins.fetcher.Close()
}
