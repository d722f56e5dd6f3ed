package object

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/cairn-fed/cairn/internal/chunker"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// BlockSink stores blocks. Add calls Put from one goroutine, in a
// deterministic order; the same block may be put more than once. Put may
// keep b. Durability is the sink's business.
type BlockSink interface {
	Put(ctx context.Context, b blocks.Block) error
}

// AddOptions tunes Add. The zero value encrypts with the default chunker.
type AddOptions struct {
	// Unencrypted stores chunks and the manifest as plaintext. Storage
	// peers can then read everything; the header and Result say so.
	Unencrypted bool
	// Salt (at most 64 bytes) goes into the manifest: a different salt
	// gives a distinct object (a new root and capability) for identical
	// content. Data blocks are still shared.
	Salt []byte
	// Chunker sets the chunk sizes; the zero value means
	// chunker.DefaultConfig(). Max must not exceed MaxChunkSize. Cut
	// points of an encrypted object come from a gear table keyed with the
	// content secret (chunker.NewGear), of an unencrypted one from the
	// public table.
	Chunker chunker.Config
	// OwnerSecret is the owner's object secret (keys.Owner.ObjectSecret).
	// The object's owner key is derived from it and the root's links and
	// written into the root header; OwnerKey re-derives it. The zero
	// value is a valid secret, for tests only: anyone can derive its keys.
	OwnerSecret [32]byte
	// Workers is the number of sealing goroutines; 0 means GOMAXPROCS.
	Workers int
}

// Result describes a stored object.
type Result struct {
	Root        cid.Cid           // object ID
	Owner       ed25519.PublicKey // the owner key in the root header
	Capability  Capability        // root and key; a secret
	Encrypted   bool              // false for AddOptions.Unencrypted
	Size        int64             // plaintext bytes of all files
	Entries     int               // files, directories and symlinks
	Files       int               // regular files
	Chunks      int               // data leaves, counting repeats
	Blocks      int               // blocks put (leaves, internal nodes, root), counting repeats
	StoredBytes int64             // bytes put, counting repeats
}

// manifestPieceSize is the plaintext size of a manifest piece.
const manifestPieceSize = 512 << 10

func (o *AddOptions) normalize() error {
	if o.Chunker == (chunker.Config{}) {
		o.Chunker = chunker.DefaultConfig()
	}
	if err := o.Chunker.Validate(); err != nil {
		return fmt.Errorf("add options: %w", err)
	}
	if o.Chunker.Max > MaxChunkSize {
		return fmt.Errorf("add options: chunker.max is invalid: %d exceeds %d", o.Chunker.Max, MaxChunkSize)
	}
	if len(o.Salt) > maxSaltLen {
		return fmt.Errorf("add options: salt is invalid: %d bytes exceeds %d", len(o.Salt), maxSaltLen)
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return nil
}

// Add reads every entry of src, stores the object in sink and returns its
// root and capability. It writes format version 2. It streams: memory stays at a few chunks per
// worker plus the manifest (about 40 bytes per chunk and one entry per
// file). Chunking runs in one goroutine, sealing in Workers goroutines,
// and sink.Put in the calling goroutine. On error, blocks already put
// stay in the sink, unreferenced. Identical content, secrets and options
// give the identical root.
func Add(ctx context.Context, src Source, secret ContentSecret, sink BlockSink, opts AddOptions) (Result, error) {
	if closer, ok := src.(io.Closer); ok {
		defer closer.Close()
	}
	if err := opts.normalize(); err != nil {
		return Result{}, err
	}
	a := newAdder(sink, &secret, opts)
	run := a.run
	if opts.Unencrypted {
		run = a.addDAG
	}
	res, err := run(ctx, src)
	if err != nil {
		return Result{}, fmt.Errorf("add: %w", err)
	}
	return res, nil
}

// adder holds the state of one Add; it belongs to the calling goroutine.
type adder struct {
	sink     BlockSink
	secret   *ContentSecret
	opts     AddOptions
	manifest manifest
	data     *treeBuilder
	res      Result
}

func newAdder(sink BlockSink, secret *ContentSecret, opts AddOptions) *adder {
	a := &adder{sink: sink, secret: secret, opts: opts}
	a.manifest = manifest{encrypted: !opts.Unencrypted, salt: opts.Salt}
	return a
}

// put stores b and counts it.
func (a *adder) put(ctx context.Context, b blocks.Block) error {
	if err := a.sink.Put(ctx, b); err != nil {
		return fmt.Errorf("store block %s: %w", b.Cid(), err)
	}
	a.res.Blocks++
	a.res.StoredBytes += int64(len(b.RawData()))
	return nil
}

func (a *adder) run(ctx context.Context, src Source) (Result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	a.data = newTreeBuilder(func(b blocks.Block) error { return a.put(ctx, b) })
	p := startPipeline(ctx, src, a.secret, a.opts)
	err := a.collect(ctx, p.ordered)
	if err != nil {
		cancel(err)
	}
	p.wait()
	if err == nil {
		err = p.err
	}
	if err == nil {
		err = context.Cause(ctx)
	}
	if err != nil {
		return Result{}, err
	}
	return a.finish(ctx)
}

// collect consumes pipeline items in order until the channel closes.
func (a *adder) collect(ctx context.Context, ordered <-chan item) error {
	for it := range ordered {
		if err := a.apply(ctx, it); err != nil {
			return err
		}
	}
	return nil
}

func (a *adder) apply(ctx context.Context, it item) error {
	switch {
	case it.entry != nil:
		if err := ValidatePath(it.entry.Path); err != nil {
			return err
		}
		e := *it.entry
		e.Size, e.chunks = 0, nil
		a.manifest.entries = append(a.manifest.entries, e)
		a.res.Entries++
		if e.Kind == KindFile {
			a.res.Files++
		}
		return nil
	case it.job != nil:
		return a.addChunk(ctx, it.job)
	}
	return nil
}

func (a *adder) addChunk(ctx context.Context, job *chunkJob) error {
	s := <-job.done // workers always answer; they stop only when jobs closes
	if err := a.put(ctx, s.block); err != nil {
		return err
	}
	e := &a.manifest.entries[len(a.manifest.entries)-1]
	e.chunks = append(e.chunks, chunkRef{leaf: a.manifest.leaves, size: uint32(s.size), key: s.key})
	e.Size += int64(s.size)
	a.manifest.leaves++
	a.res.Size += int64(s.size)
	a.res.Chunks++
	job.release()
	return a.data.add(link{cid: s.block.Cid(), size: uint64(len(s.block.RawData()))})
}

// finish stores the manifest and the root.
func (a *adder) finish(ctx context.Context) (Result, error) {
	encoded := a.manifest.encode()
	if _, err := decodeManifest(encoded); err != nil {
		return Result{}, fmt.Errorf("source entries: %w", err)
	}
	var mk Key
	if a.manifest.encrypted {
		mk = manifestKey(a.secret, encoded)
	}
	mtop, pieces, err := a.putManifest(ctx, encoded, mk)
	if err != nil {
		return Result{}, err
	}
	root := pbNode{links: []link{mtop}}
	dtop, ok, err := a.data.finish()
	if err != nil {
		return Result{}, err
	}
	if ok {
		root.links = append(root.links, dtop)
	}
	owner := ownerPrivateKey(&a.opts.OwnerSecret, root.links, false, nil).Public().(ed25519.PublicKey)
	root.data = Header{Version: FormatVersion, Encrypted: a.manifest.encrypted, ManifestPieces: pieces, Owner: owner}.encode()
	b := newBlock(cid.DagProtobuf, root.encode())
	if err := a.put(ctx, b); err != nil {
		return Result{}, err
	}
	a.res.Root, a.res.Owner, a.res.Encrypted = b.Cid(), owner, a.manifest.encrypted
	a.res.Capability = Capability{root: b.Cid(), key: mk, encrypted: a.manifest.encrypted}
	return a.res, nil
}

// putManifest stores the manifest pieces and their tree.
func (a *adder) putManifest(ctx context.Context, encoded []byte, mk Key) (link, int, error) {
	tree := newTreeBuilder(func(b blocks.Block) error { return a.put(ctx, b) })
	pieces := 0
	for off := 0; off < len(encoded); off += manifestPieceSize {
		piece := encoded[off:min(off+manifestPieceSize, len(encoded))]
		if a.manifest.encrypted {
			piece = sealPiece(pieceKey(mk, pieces), piece)
		}
		b := newBlock(cid.Raw, piece)
		if err := a.put(ctx, b); err != nil {
			return link{}, 0, err
		}
		if err := tree.add(link{cid: b.Cid(), size: uint64(len(piece))}); err != nil {
			return link{}, 0, err
		}
		pieces++
	}
	if pieces > maxManifestPieces {
		return link{}, 0, errors.New("manifest exceeds 1 GiB: too many files or chunks for one object")
	}
	top, _, err := tree.finish()
	return top, pieces, err
}
