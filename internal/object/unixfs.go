package object

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/multiformats/go-multihash"
)

// Public objects are UnixFS, laid out as Kubo's "unixfs-v1-2025" profile
// does (CIDv1, sha2-256, raw leaves, 1 MiB chunks, 1024 links per node,
// directories sharded past 256 KiB), so `ipfs add` with those settings
// gives the same CIDs. A file's permissions are recorded (UnixFS 1.5)
// only when they differ from 0644 (0755 for a directory), so ordinary
// files get the CIDs plain Kubo gives them.
const (
	unixfsChunkSize = 1 << 20
	unixfsMaxLinks  = 1024
	defaultFileMode = 0o644
	defaultDirMode  = 0o755
)

var unixfsCIDBuilder = cid.V1Builder{Codec: cid.DagProtobuf, MhType: multihash.SHA2_256}

// dagService is the ipld.DAGService UnixFS code reads and writes through:
// reads come from g, each block verified against its CID; writes go to
// sink, counted.
type dagService struct {
	g      BlockGetter
	sink   BlockSink
	blocks int
	bytes  int64
}

func (d *dagService) Get(ctx context.Context, c cid.Cid) (ipld.Node, error) {
	data, err := getDAGBlock(ctx, d.g, c)
	if err != nil {
		return nil, err
	}
	b, _ := blocks.NewBlockWithCid(data, c)
	if c.Prefix().Codec == cid.Raw {
		return merkledag.DecodeRawBlock(b)
	}
	n, err := merkledag.DecodeProtobufBlock(b)
	if err != nil {
		return nil, fmt.Errorf("%w: node %s: %w", ErrCorruptBlock, c, err)
	}
	return n, nil
}

func (d *dagService) GetMany(ctx context.Context, cids []cid.Cid) <-chan *ipld.NodeOption {
	out := make(chan *ipld.NodeOption, len(cids))
	for _, c := range cids {
		n, err := d.Get(ctx, c)
		out <- &ipld.NodeOption{Node: n, Err: err}
	}
	close(out)
	return out
}

func (d *dagService) Add(ctx context.Context, n ipld.Node) error {
	if d.sink == nil {
		return errors.New("object: this DAG is read only")
	}
	d.blocks++
	d.bytes += int64(len(n.RawData()))
	return d.sink.Put(ctx, n)
}

func (d *dagService) AddMany(ctx context.Context, ns []ipld.Node) error {
	for _, n := range ns {
		if err := d.Add(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

func (d *dagService) Remove(context.Context, cid.Cid) error {
	return errors.New("object: blocks are never removed through a DAG")
}

func (d *dagService) RemoveMany(context.Context, []cid.Cid) error {
	return errors.New("object: blocks are never removed through a DAG")
}

// linkNode stands for a stored node when a directory links to it: only
// its CID and total size are used, so the node's bytes need not stay in
// memory until its directory is built.
type linkNode struct {
	ipld.Node
	c    cid.Cid
	size uint64
}

func (l linkNode) Cid() cid.Cid { return l.c }

func (l linkNode) Size() (uint64, error) { return l.size, nil }

func (l linkNode) Links() []*ipld.Link { return nil }

func (l linkNode) Stat() (*ipld.NodeStat, error) { return &ipld.NodeStat{}, nil }
