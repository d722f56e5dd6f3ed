package object

import (
	"context"
	"crypto/ed25519"
	"fmt"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multicodec"
	"github.com/multiformats/go-multihash"
)

// A DAG object holds a plain IPFS DAG as it is, so that IPFS tools read
// it: public files added with --unencrypted (UnixFS), and DAGs imported
// from a CAR bundle or pinned from elsewhere. Its root is a Cairn root
// whose header has the DAG flag, no manifest and the owner key, and whose
// one link points to the DAG's root, with the top-level name (if any) as
// the link's name:
//
//	root = dag-pb { links: [ {Hash: DAG root, Name: name, Tsize} ],
//	                Data: "cairn" | 2 | flags 2 | 0 | owner key | salt }
//
// The owner key is derived as for any object (under its own domain
// string), from the owner's object secret and the link's CID (and the
// salt, if any: usually none), so the same owner wrapping the same DAG
// gets the same object ID, and two owners pinning one DAG get two objects that
// share every block but the root. The DAG's blocks are dag-pb or raw,
// under CIDv0 or CIDv1 with one of the hash functions dagHashes lists, at
// most MaxDAGBlockSize bytes each; identity CIDs carry their data inline
// and are no blocks.

// MaxDAGBlockSize is the largest block of a DAG object: bitswap's limit.
const MaxDAGBlockSize = 2 << 20

// maxDAGDepth bounds how deep a walk descends into a DAG. A walk keeps
// the links still to visit of every node on its path, so this bounds its
// memory at about maxDAGDepth decoded blocks; UnixFS files are a few
// levels deep, directories as deep as their paths.
const maxDAGDepth = 256

// maxDAGEntries bounds the files, directories and symlinks a DAG object
// lists when it is opened, and maxDAGPathBytes their paths in all: a DAG
// whose directories link one another many times over would otherwise
// list exponentially many.
// (Variables so that a test can lower them.)
var (
	maxDAGEntries   = 1 << 20
	maxDAGPathBytes = 256 << 20
)

// dagHashes are the hash functions a DAG object's blocks may use.
var dagHashes = map[uint64]bool{
	multihash.SHA2_256: true, multihash.SHA2_512: true,
	multihash.BLAKE2B_MIN + 31: true, multihash.BLAKE3: true,
}

// CheckDAGCID reports whether c may name a block of a DAG object: a
// dag-pb or raw block under a supported hash function. Identity CIDs are
// allowed (they are skipped, holding no block).
func CheckDAGCID(c cid.Cid) error {
	p := c.Prefix()
	if p.Codec != cid.DagProtobuf && p.Codec != cid.Raw {
		return fmt.Errorf("%w: %s has codec %s; Cairn keeps DAGs of dag-pb and raw blocks (UnixFS)", ErrUnsupportedDAG, c, multicodecName(p.Codec))
	}
	if p.MhType != multihash.IDENTITY && !dagHashes[p.MhType] {
		return fmt.Errorf("%w: %s uses hash function %s; Cairn accepts sha2-256, sha2-512, blake2b-256 and blake3", ErrUnsupportedDAG, c, multihash.Codes[p.MhType])
	}
	return nil
}

func multicodecName(code uint64) string {
	return multicodec.Code(code).String()
}

// WrapDAG builds the root of a DAG object: dag is the root of a DAG
// already stored, name the top-level name (may be empty), size the total
// bytes of its blocks, salt (at most 64 bytes, usually none) what makes
// another object for the same DAG. It returns the root block, whose CID
// is the object ID, and the object's owner key.
func WrapDAG(ownerSecret [32]byte, dag cid.Cid, name string, size uint64, salt []byte) (blocks.Block, ed25519.PublicKey, error) {
	if err := CheckDAGCID(dag); err != nil {
		return nil, nil, err
	}
	if dag.Prefix().MhType == multihash.IDENTITY {
		return nil, nil, fmt.Errorf("%w: the DAG's root %s is an identity CID, which stores nothing", ErrUnsupportedDAG, dag)
	}
	if name != "" {
		if err := ValidatePath(name); err != nil {
			return nil, nil, err
		}
	}
	if len(salt) > maxSaltLen {
		return nil, nil, fmt.Errorf("wrap DAG: salt of %d bytes exceeds %d", len(salt), maxSaltLen)
	}
	links := []link{{cid: dag, name: name, size: size}}
	owner := ownerPrivateKey(&ownerSecret, links, true, salt).Public().(ed25519.PublicKey)
	root := pbNode{links: links, data: Header{Version: FormatVersion, DAG: true, Owner: owner, Salt: salt}.encode()}
	raw := root.encode()
	if len(raw) > MaxRootSize {
		return nil, nil, fmt.Errorf("%w: name %q makes the root %d bytes, over %d", ErrInvalidPath, name, len(raw), MaxRootSize)
	}
	return newBlock(cid.DagProtobuf, raw), owner, nil
}

// DAGRoot returns the root of the IPFS DAG a DAG object holds and its
// top-level name, from the object's root block; ok is false for any other
// object.
func DAGRoot(ctx context.Context, root cid.Cid, g BlockGetter) (dag cid.Cid, name string, ok bool, err error) {
	n, h, err := getRoot(ctx, g, root)
	if err != nil || !h.DAG {
		return cid.Undef, "", false, err
	}
	return n.links[0].cid, n.links[0].name, true, nil
}

// WalkDAG calls fn for every block of the plain IPFS DAG under top, top
// first, each verified before its links are followed: what a DAG object
// holds under its root. A repeated subtree is listed again but walked
// once; identity CIDs are skipped.
func WalkDAG(ctx context.Context, top cid.Cid, g BlockGetter, fn func(cid.Cid) error) error {
	return walkDAG(ctx, g, top, fn)
}

// PublicCapability is the capability of a DAG object: its root, no key.
func PublicCapability(root cid.Cid) Capability { return Capability{root: root} }

// DAGOfRoot returns the DAG a DAG object holds, from its root block's
// bytes (already checked against the object ID); ok is false for any
// other object or bytes that are no Cairn root.
func DAGOfRoot(raw []byte) (dag cid.Cid, ok bool) {
	n, h, err := parseRoot(raw)
	if err != nil || !h.DAG {
		return cid.Undef, false
	}
	return n.links[0].cid, true
}

// getDAGBlock fetches a block of a DAG object and verifies it against c.
func getDAGBlock(ctx context.Context, g BlockGetter, c cid.Cid) ([]byte, error) {
	if err := CheckDAGCID(c); err != nil {
		return nil, err
	}
	b, err := g.Get(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("get block %s: %w", c, err)
	}
	if err := VerifyDAGBlock(c, b.RawData()); err != nil {
		return nil, err
	}
	return b.RawData(), nil
}

// VerifyDAGBlock checks that data may be the block c of a DAG object: an
// allowed CID, at most MaxDAGBlockSize bytes, hashing to c.
func VerifyDAGBlock(c cid.Cid, data []byte) error {
	if err := CheckDAGCID(c); err != nil {
		return err
	}
	if len(data) > MaxDAGBlockSize {
		return fmt.Errorf("%w: block %s has %d bytes, over the %d a DAG block may have", ErrCorruptBlock, c, len(data), MaxDAGBlockSize)
	}
	sum, err := c.Prefix().Sum(data)
	if err != nil || !sum.Equals(c) {
		return fmt.Errorf("%w: block %s does not match its cid", ErrCorruptBlock, c)
	}
	return nil
}

// walkDAG calls fn for every block of the DAG under top, top first, depth
// first, repeats included; a repeated dag-pb node is listed again but not
// descended into again, so shared subtrees cost one walk. Identity CIDs
// are skipped.
func walkDAG(ctx context.Context, g BlockGetter, top cid.Cid, fn func(cid.Cid) error) error {
	type frame struct {
		links []link
		depth int
	}
	expanded := map[cid.Cid]bool{}
	visit := func(c cid.Cid, depth int) (*frame, error) {
		if err := CheckDAGCID(c); err != nil {
			return nil, err
		}
		if c.Prefix().MhType == multihash.IDENTITY {
			return nil, nil
		}
		if err := fn(c); err != nil {
			return nil, err
		}
		if c.Prefix().Codec == cid.Raw || expanded[c] {
			return nil, nil
		}
		if depth == maxDAGDepth {
			return nil, fmt.Errorf("%w: DAG deeper than %d", ErrCorruptBlock, maxDAGDepth)
		}
		expanded[c] = true
		data, err := getDAGBlock(ctx, g, c)
		if err != nil {
			return nil, err
		}
		n, err := decodePBNodeLimit(data, 0)
		if err != nil {
			return nil, fmt.Errorf("%w: node %s: %w", ErrCorruptBlock, c, err)
		}
		return &frame{links: n.links, depth: depth + 1}, nil
	}
	first, err := visit(top, 0)
	if err != nil || first == nil {
		return err
	}
	stack := []*frame{first}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		f := stack[len(stack)-1]
		if len(f.links) == 0 {
			stack = stack[:len(stack)-1]
			continue
		}
		next := f.links[0]
		f.links = f.links[1:]
		child, err := visit(next.cid, f.depth)
		if err != nil {
			return err
		}
		if child != nil {
			stack = append(stack, child)
		}
	}
	return nil
}
