package object

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
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
	ipld "github.com/ipfs/go-ipld-format"
)

// Writing public objects: a Source becomes a UnixFS DAG, wrapped in a DAG
// object.

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
