package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/namespace"
	"github.com/multiformats/go-multihash"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/origins"
	"github.com/cairn-fed/cairn/node/pins"
)

// PinsDatastore is where the Pinning Service keeps its requests and
// tokens: a namespace of the node's metadata store.
func (n *Node) PinsDatastore() datastore.Datastore {
	return namespace.Wrap(n.disk.meta, datastore.NewKey("/pinning-service"))
}

// PinsBackend is the node as the Pinning Service (node/pins) sees it.
func (n *Node) PinsBackend() pins.Backend { return pinsBackend{n} }

type pinsBackend struct{ n *Node }

func (b pinsBackend) CheckCID(s string) error {
	c, err := cid.Decode(s)
	if err != nil {
		return fmt.Errorf("%q is not a CID: %v", s, err)
	}
	if c.Prefix().MhType == multihash.IDENTITY {
		return fmt.Errorf("%s is an identity CID: its data is in the CID, there is nothing to pin", s)
	}
	return object.CheckDAGCID(c)
}

// Pin keeps the DAG for the node's owner. Only origins that are libp2p
// multiaddrs with /p2p/ are used (the spec's origins are multiaddrs): a
// gateway URL from a remote user would have the node send HTTP requests
// wherever it says. Others are skipped: Kubo lists every address it has,
// and the peers that connected to a delegate are asked anyway; when no
// origin peer can be dialled, the fetch waits up to fetch.stall_timeout
// for one of them to dial a delegate, as a client behind a NAT must. The error
// a remote user sees does not say how each dial failed, which would let
// it probe the node's network.
func (b pinsBackend) Pin(ctx context.Context, s string, from []string, name string) (string, bool, error) {
	root, err := cid.Decode(s)
	if err != nil {
		return "", false, fmt.Errorf("%w: %q: %v", ErrInvalidCID, s, err)
	}
	var usable []string
	for _, o := range from {
		if parsed, err := origins.Parse(o); err == nil && parsed.Peer != nil && len(usable) < origins.MaxOrigins {
			usable = append(usable, o)
		}
	}
	res, err := b.n.Pin(ctx, root, PinOptions{Origins: usable, Name: name, AwaitDialers: true})
	if errors.Is(err, origins.ErrNoOrigin) {
		b.n.logger.Info("pinning service: no origin provided a DAG", "cid", root, "err", err)
		return "", false, fmt.Errorf("no origin provided every block of %s within fetch.timeout, or none sent a block for fetch.stall_timeout (tried %d of the origins given, and the peers connected to a delegate)", root, len(usable))
	}
	if err != nil {
		return "", false, err
	}
	return res.CID, res.Existing, nil
}

func (b pinsBackend) Pinned(ctx context.Context, object string) bool {
	v, err := b.n.Status(ctx, object)
	return err == nil && v.State == netstat.StateBackedUp
}

func (b pinsBackend) Unpin(ctx context.Context, object string) error {
	_, err := b.n.Delete(ctx, object)
	return err
}

func (b pinsBackend) Delegates() []string { return b.n.OriginAddrs() }
