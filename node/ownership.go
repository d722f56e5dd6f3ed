package node

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/cairn-fed/cairn/internal/keys"
	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/node/replicas"
	"github.com/cairn-fed/cairn/replication"
)

// Ownership: an object's ID commits to the one key that may delete it or
// change its policy (object format 2 carries it in the root block). The
// node checks every owner's statement against that key, read from the
// root block: its own copy of it, or the copy a policy carries, which
// must hash to the object ID. Objects of format 1 commit to no key: only
// their owner's own node knows it owns them, from its index.

// rootBlock returns the raw root block of an object: from its verified
// policy, or from this node's blockstore.
func (n *Node) rootBlock(ctx context.Context, root cid.Cid) ([]byte, error) {
	var raw []byte
	n.repl.Read(func(c *replication.Core) {
		if p, _, ok := c.Policy(replication.ObjectID(root.String())); ok {
			raw = p.Root
		}
	})
	if raw != nil {
		return raw, nil
	}
	b, err := n.disk.blocks.Get(ctx, root)
	if err != nil {
		return nil, fmt.Errorf("read root block of %s: %w", root, err)
	}
	return b.RawData(), nil
}

// boundOwner returns the owner key the object ID commits to, or nil when
// this node cannot tell (no verified policy and no local root block) or
// the object is of format 1.
func (n *Node) boundOwner(ctx context.Context, object string) ed25519.PublicKey {
	var key []byte
	n.repl.Read(func(c *replication.Core) { _, key, _ = c.Policy(replication.ObjectID(object)) })
	if len(key) == ed25519.PublicKeySize {
		return key
	}
	root, err := cid.Decode(object)
	if err != nil {
		return nil
	}
	raw, err := n.rootBlock(ctx, root)
	if err != nil {
		return nil
	}
	key, err = replicas.BindOwner(replication.ObjectID(object), raw)
	if err != nil {
		return nil
	}
	return key
}

// objectSigningKey returns the key with which this node's owner signs for
// one of its objects: the object's own key (format 2), or, for a format-1
// object this node's index records as its owner's, the owner's signing
// key. ErrNotOwner when the object is not this owner's.
func (n *Node) objectSigningKey(ctx context.Context, root cid.Cid) (ed25519.PrivateKey, error) {
	raw, err := n.rootBlock(ctx, root)
	if err == nil {
		key, kerr := object.OwnerKey(n.ownerKeys().ObjectSecret(), raw)
		switch {
		case kerr == nil:
			return key, nil
		case errors.Is(kerr, object.ErrNotObjectOwner):
			return nil, fmt.Errorf("%w: %s was not added by this node's owner", ErrNotOwner, root)
		case !errors.Is(kerr, object.ErrNoBoundOwner):
			return nil, fmt.Errorf("owner key of %s: %w", root, kerr)
		}
	}
	if rec, rerr := n.disk.index.get(ctx, root.String()); rerr == nil && rec.Role == RoleOwner {
		return n.ownerKeys().SigningKey(), nil // format 1: the index is the only record
	}
	return nil, fmt.Errorf("%w: %s was not added by this node's owner", ErrNotOwner, root)
}

// setOwnPolicy signs and records the policy of an object this node's
// owner added, if its target differs from the policy known (or none is
// known). Format-1 objects have no policy: their target stays local.
func (n *Node) setOwnPolicy(ctx context.Context, root cid.Cid, target int) error {
	obj := replication.ObjectID(root.String())
	var cur replication.Policy
	var known bool
	n.repl.Read(func(c *replication.Core) { cur, _, known = c.Policy(obj) })
	if known && cur.Target == target {
		return nil
	}
	raw, err := n.rootBlock(ctx, root)
	if err != nil {
		return err
	}
	key, err := object.OwnerKey(n.ownerKeys().ObjectSecret(), raw)
	if errors.Is(err, object.ErrNoBoundOwner) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("policy of %s: %w", root, err)
	}
	// The version is the time in milliseconds, and always above the last:
	// an owner restoring its key on a new machine need not know it.
	p := replication.Policy{Object: obj, Root: raw, Version: max(cur.Version+1, uint64(time.Now().UnixMilli())), Target: target}
	p.Sign(key)
	n.repl.Do(func(c *replication.Core) { err = c.SetPolicy(p, time.Now()) })
	if err != nil {
		return fmt.Errorf("policy of %s: %w", root, err)
	}
	return nil
}

// ownerKeys returns the owner key material the node works with now.
func (n *Node) ownerKeys() *keys.Owner { return n.keys.owner.Load() }
