package node

import (
	"context"
	"fmt"

	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/namespace"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/origins"
	"github.com/cairn-fed/cairn/node/pins"
)

// PinsDatastore is where the Pinning Service keeps its requests and
// tokens: a namespace of the node's metadata store.
func (n *Node) PinsDatastore() datastore.Datastore {
	return namespace.Wrap(n.meta, datastore.NewKey("/pinning-service"))
}

// PinsBackend is the node as the Pinning Service (node/pins) sees it.
func (n *Node) PinsBackend() pins.Backend { return pinsBackend{n} }

type pinsBackend struct{ n *Node }

func (b pinsBackend) CheckCID(s string) error {
	c, err := cid.Decode(s)
	if err != nil {
		return fmt.Errorf("%q is not a CID: %v", s, err)
	}
	return object.CheckDAGCID(c)
}

// Pin keeps the DAG for the node's owner. A client's origins that are not
// dialable multiaddrs with /p2p/ are skipped: Kubo lists every address it
// has, and the peers that connected to a delegate are asked anyway.
func (b pinsBackend) Pin(ctx context.Context, s string, from []string, name string) (string, error) {
	root, err := cid.Decode(s)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrInvalidCID, s, err)
	}
	var usable []string
	for _, o := range from {
		if _, err := origins.Parse(o); err == nil && len(usable) < origins.MaxOrigins {
			usable = append(usable, o)
		}
	}
	res, err := b.n.Pin(ctx, root, PinOptions{Origins: usable, Name: name})
	if err != nil {
		return "", err
	}
	return res.CID, nil
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
