package object

import (
	"context"
	"fmt"
	"io"
	"path"

	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	upb "github.com/ipfs/boxo/ipld/unixfs/pb"
	ipld "github.com/ipfs/go-ipld-format"
)

// Reading DAG objects: their UnixFS entries, listed within bounds, and
// their files streamed.

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
