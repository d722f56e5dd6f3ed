package object

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	bchunker "github.com/ipfs/boxo/chunker"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	"github.com/ipfs/boxo/ipld/unixfs/importer/balanced"
	"github.com/ipfs/boxo/ipld/unixfs/importer/helpers"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	upb "github.com/ipfs/boxo/ipld/unixfs/pb"
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

func (l linkNode) Cid() cid.Cid                  { return l.c }
func (l linkNode) Size() (uint64, error)         { return l.size, nil }
func (l linkNode) Links() []*ipld.Link           { return nil }
func (l linkNode) Stat() (*ipld.NodeStat, error) { return &ipld.NodeStat{}, nil }

// pendingDir is a directory whose children are being added.
type pendingDir struct {
	mode     fs.FileMode
	children map[string]linkNode
	dirs     map[string]*pendingDir
}

func newPendingDir(mode fs.FileMode) *pendingDir {
	return &pendingDir{mode: mode, children: map[string]linkNode{}, dirs: map[string]*pendingDir{}}
}

// addDAG stores every entry of src as a UnixFS DAG and wraps it in a DAG
// object. One top-level entry is the DAG's root, named in the object's
// root; several are the entries of an unnamed directory.
func (a *adder) addDAG(ctx context.Context, src Source) (Result, error) {
	ds := &dagService{sink: a.sink}
	top := newPendingDir(defaultDirMode)
	for {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		e, r, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Result{}, err
		}
		if err := a.addDAGEntry(ctx, ds, top, e, r); err != nil {
			return Result{}, fmt.Errorf("add %s: %w", e.Path, err)
		}
	}
	var dag linkNode
	var name string
	if len(top.children)+len(top.dirs) == 1 {
		for n, d := range top.dirs {
			name = n
			var err error
			if dag, err = buildDir(ctx, ds, d); err != nil {
				return Result{}, err
			}
		}
		for n, c := range top.children {
			name, dag = n, c
		}
	} else {
		var err error
		if dag, err = buildDir(ctx, ds, top); err != nil {
			return Result{}, err
		}
	}
	rootBlock, owner, err := WrapDAG(a.opts.OwnerSecret, dag.c, name, dag.size, a.opts.Salt)
	if err != nil {
		return Result{}, err
	}
	if err := a.sink.Put(ctx, rootBlock); err != nil {
		return Result{}, err
	}
	a.res.Root, a.res.Owner = rootBlock.Cid(), owner
	a.res.Capability = Capability{root: rootBlock.Cid()}
	a.res.Blocks = ds.blocks + 1
	a.res.StoredBytes = ds.bytes + int64(len(rootBlock.RawData()))
	return a.res, nil
}

// addDAGEntry stores one entry and records it in its parent directory,
// creating directories its path implies.
func (a *adder) addDAGEntry(ctx context.Context, ds *dagService, top *pendingDir, e Entry, r io.Reader) error {
	if err := ValidatePath(e.Path); err != nil {
		return err
	}
	dir := top
	parts := strings.Split(e.Path, "/")
	for _, p := range parts[:len(parts)-1] {
		if _, ok := dir.children[p]; ok {
			return fmt.Errorf("%s is not a directory", p)
		}
		if dir.dirs[p] == nil {
			dir.dirs[p] = newPendingDir(defaultDirMode)
		}
		dir = dir.dirs[p]
	}
	name := parts[len(parts)-1]
	if _, dup := dir.children[name]; dup || (dir.dirs[name] != nil && e.Kind != KindDir) {
		return fmt.Errorf("the path appears twice")
	}
	a.res.Entries++
	switch e.Kind {
	case KindDir:
		if dir.dirs[name] == nil {
			dir.dirs[name] = newPendingDir(e.Mode)
		}
		dir.dirs[name].mode = e.Mode
		return nil
	case KindSymlink:
		data, err := unixfs.SymlinkData(e.Target)
		if err != nil {
			return err
		}
		n := merkledag.NodeWithData(data)
		if err := n.SetCidBuilder(unixfsCIDBuilder); err != nil {
			return err
		}
		if err := ds.Add(ctx, n); err != nil {
			return err
		}
		dir.children[name] = linkNode{c: n.Cid(), size: uint64(len(n.RawData()))}
		return nil
	}
	counted := &countingReader{r: r}
	params := helpers.DagBuilderParams{
		Maxlinks: unixfsMaxLinks, RawLeaves: true, CidBuilder: unixfsCIDBuilder, Dagserv: ds,
	}
	if e.Mode.Perm() != defaultFileMode {
		params.FileMode = e.Mode.Perm()
	}
	db, err := params.New(bchunker.NewSizeSplitter(counted, unixfsChunkSize))
	if err != nil {
		return err
	}
	n, err := balanced.Layout(db)
	if err != nil {
		return err
	}
	if params.FileMode != 0 {
		// A file of one chunk is its raw leaf, which has no room for a mode.
		if n, err = withMode(ctx, ds, n, params.FileMode); err != nil {
			return err
		}
	}
	size, err := n.Size()
	if err != nil {
		return err
	}
	dir.children[name] = linkNode{c: n.Cid(), size: size}
	a.res.Files++
	a.res.Size += counted.n
	a.res.Chunks += int((counted.n + unixfsChunkSize - 1) / unixfsChunkSize)
	return nil
}

// withMode returns n, or for a raw leaf a UnixFS file node over it that
// records mode.
func withMode(ctx context.Context, ds *dagService, n ipld.Node, mode fs.FileMode) (ipld.Node, error) {
	raw, ok := n.(*merkledag.RawNode)
	if !ok {
		return n, nil
	}
	fsn := unixfs.NewFSNode(upb.Data_File)
	fsn.AddBlockSize(uint64(len(raw.RawData())))
	fsn.SetMode(mode)
	data, err := fsn.GetBytes()
	if err != nil {
		return nil, err
	}
	file := merkledag.NodeWithData(data)
	if err := file.SetCidBuilder(unixfsCIDBuilder); err != nil {
		return nil, err
	}
	if err := file.AddNodeLink("", raw); err != nil {
		return nil, err
	}
	return file, ds.Add(ctx, file)
}

// buildDir stores the directory d, its subdirectories first, and returns
// a link to it.
func buildDir(ctx context.Context, ds *dagService, d *pendingDir) (linkNode, error) {
	opts := []uio.DirectoryOption{uio.WithCidBuilder(unixfsCIDBuilder), uio.WithMaxLinks(0)}
	if d.mode.Perm() != defaultDirMode && d.mode.Perm() != 0 {
		opts = append(opts, uio.WithStat(d.mode.Perm()|fs.ModeDir, time.Time{}))
	}
	dir, err := uio.NewDirectory(ds, opts...)
	if err != nil {
		return linkNode{}, err
	}
	for _, name := range slices.Sorted(maps.Keys(d.dirs)) {
		sub, err := buildDir(ctx, ds, d.dirs[name])
		if err != nil {
			return linkNode{}, err
		}
		if err := dir.AddChild(ctx, name, sub); err != nil {
			return linkNode{}, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(d.children)) {
		if err := dir.AddChild(ctx, name, d.children[name]); err != nil {
			return linkNode{}, err
		}
	}
	n, err := dir.GetNode()
	if err != nil {
		return linkNode{}, err
	}
	if err := ds.Add(ctx, n); err != nil {
		return linkNode{}, err
	}
	size, err := n.Size()
	if err != nil {
		return linkNode{}, err
	}
	return linkNode{c: n.Cid(), size: size}, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// openDAG opens a DAG object: it lists the UnixFS entries under the DAG's
// root, named as the root's link says or, unnamed, by its CID (as
// `ipfs get` names what it writes).
//
// It does not trust the DAG: a path named twice, or more than
// maxDAGEntries entries or maxDAGPathBytes of paths, is an error, so a
// DAG whose directories link one another many times over (identical
// directories are one node, linked from each place) cannot make the
// listing grow exponentially.
func openDAG(ctx context.Context, o *Object, root pbNode) error {
	top := root.links[0]
	ds := &dagService{g: o.g}
	o.dag = ds
	o.manifest = &manifest{}
	n, err := ds.Get(ctx, top.cid)
	if err != nil {
		return err
	}
	name := top.name
	if name == "" {
		name = top.cid.String()
	}
	l := &dagLister{o: o, ds: ds, paths: map[string]bool{}}
	return l.add(ctx, name, n)
}

// dagLister lists a DAG object's entries within the bounds above.
type dagLister struct {
	o         *Object
	ds        *dagService
	paths     map[string]bool // paths listed
	pathBytes int
}

func (l *dagLister) entry(e Entry) error {
	if l.paths[e.Path] {
		return fmt.Errorf("%w: the DAG names %q twice", ErrCorruptBlock, e.Path)
	}
	l.paths[e.Path] = true
	l.pathBytes += len(e.Path)
	if len(l.o.manifest.entries) >= maxDAGEntries || l.pathBytes > maxDAGPathBytes {
		return fmt.Errorf("%w: the DAG lists more than %d entries or %d MiB of paths", ErrUnsupportedDAG, maxDAGEntries, maxDAGPathBytes>>20)
	}
	l.o.manifest.entries = append(l.o.manifest.entries, e)
	return nil
}

// add lists the node n at path p (and, for a directory, everything under
// it) as entries.
func (l *dagLister) add(ctx context.Context, p string, n ipld.Node) error {
	if err := ValidatePath(p); err != nil {
		return fmt.Errorf("%w: the DAG names an entry %q", ErrCorruptBlock, p)
	}
	if _, ok := n.(*merkledag.RawNode); ok {
		return l.entry(Entry{Path: p, Kind: KindFile, Mode: defaultFileMode, Size: int64(len(n.RawData())), dag: n.Cid()})
	}
	pn, ok := n.(*merkledag.ProtoNode)
	if !ok {
		return fmt.Errorf("%w: %s is neither dag-pb nor raw", ErrUnsupportedDAG, n.Cid())
	}
	fsn, err := unixfs.FSNodeFromBytes(pn.Data())
	if err != nil {
		return fmt.Errorf("%w: %s is not UnixFS: %w", ErrUnsupportedDAG, n.Cid(), err)
	}
	mode := fsn.Mode().Perm()
	switch fsn.Type() {
	case upb.Data_Directory, upb.Data_HAMTShard:
		if mode == 0 {
			mode = defaultDirMode
		}
		if err := l.entry(Entry{Path: p, Kind: KindDir, Mode: mode}); err != nil {
			return err
		}
		return l.listDir(ctx, n, p)
	case upb.Data_File, upb.Data_Raw:
		if mode == 0 {
			mode = defaultFileMode
		}
		return l.entry(Entry{Path: p, Kind: KindFile, Mode: mode, Size: int64(fsn.FileSize()), dag: n.Cid()})
	case upb.Data_Symlink:
		return l.entry(Entry{Path: p, Kind: KindSymlink, Mode: 0o777, Target: string(fsn.Data())})
	}
	return fmt.Errorf("%w: %s has UnixFS type %s", ErrUnsupportedDAG, n.Cid(), fsn.Type())
}

// listDir lists the children of the directory n, under prefix p. The
// links of a sharded directory count against maxDAGEntries as they are
// read, so a shard tree that repeats itself stops early too.
func (l *dagLister) listDir(ctx context.Context, n ipld.Node, p string) error {
	dir, err := uio.NewDirectoryFromNode(l.ds, n)
	if err != nil {
		return fmt.Errorf("%w: directory %s: %w", ErrCorruptBlock, n.Cid(), err)
	}
	var links []*ipld.Link
	errTooMany := fmt.Errorf("%w: directory %s holds more than %d entries", ErrUnsupportedDAG, n.Cid(), maxDAGEntries)
	if err := dir.ForEachLink(ctx, func(link *ipld.Link) error {
		if len(links)+len(l.o.manifest.entries) >= maxDAGEntries {
			return errTooMany
		}
		links = append(links, link)
		return nil
	}); err != nil {
		return fmt.Errorf("list directory %s: %w", n.Cid(), err)
	}
	for _, link := range links {
		child, err := l.ds.Get(ctx, link.Cid)
		if err != nil {
			return err
		}
		if err := l.add(ctx, path.Join(p, link.Name), child); err != nil {
			return err
		}
	}
	return nil
}

// writeDAGFile streams a UnixFS file's contents to w, every block
// verified, and checks its length.
func (o *Object) writeDAGFile(ctx context.Context, e *Entry, w io.Writer) error {
	n, err := o.dag.Get(ctx, e.dag)
	if err != nil {
		return fmt.Errorf("read %s: %w", e.Path, err)
	}
	r, err := uio.NewDagReader(ctx, n, o.dag)
	if err != nil {
		return fmt.Errorf("read %s: %w", e.Path, err)
	}
	// A file's DAG may repeat its links: read no more than it claims.
	written, err := io.Copy(w, io.LimitReader(r, e.Size+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", e.Path, err)
	}
	if written != e.Size {
		return fmt.Errorf("%w: %s has %d bytes, its UnixFS node says %d", ErrCorruptBlock, e.Path, written, e.Size)
	}
	return nil
}
