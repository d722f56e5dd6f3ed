package object

import (
	"context"
	"fmt"
	"io"
	"io/fs"

	"github.com/ipfs/go-cid"
)

// Object is an opened object: its header and decrypted manifest. It reads
// file contents from the getter on demand.
type Object struct {
	capability Capability
	header     Header
	manifest   *manifest
	data       *treeCursor // nil when the object has no file data
	dag        *dagService // a DAG object's reader; nil for others
	g          BlockGetter
}

// Open reads the root, checks the header, and decrypts and decodes the
// manifest. A capability whose key does not open the object gives
// ErrWrongKey; a root that is not a Cairn object gives ErrNotCairnObject.
func Open(ctx context.Context, capability Capability, g BlockGetter) (*Object, error) {
	root, h, err := getRoot(ctx, g, capability.root)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", capability.root, err)
	}
	if err := checkKeyPresence(h, capability); err != nil {
		return nil, fmt.Errorf("open %s: %w", capability.root, err)
	}
	o := &Object{capability: capability, header: h, g: g}
	if h.DAG {
		if err := openDAG(ctx, o, root); err != nil {
			return nil, fmt.Errorf("open %s: %w", capability.root, err)
		}
		return o, nil
	}
	if o.manifest, err = o.readManifest(ctx, root.links[0].cid); err != nil {
		return nil, fmt.Errorf("open %s: %w", capability.root, err)
	}
	if err := o.attachData(root); err != nil {
		return nil, fmt.Errorf("open %s: %w", capability.root, err)
	}
	return o, nil
}

func checkKeyPresence(h Header, c Capability) error {
	switch {
	case h.Encrypted && !c.encrypted:
		return fmt.Errorf("%w: the object is encrypted and the capability has no key", ErrWrongKey)
	case !h.Encrypted && c.encrypted:
		return fmt.Errorf("%w: the object is not encrypted but the capability has a key", ErrWrongKey)
	}
	return nil
}

// readManifest fetches, decrypts and decodes the manifest pieces.
func (o *Object) readManifest(ctx context.Context, top cid.Cid) (*manifest, error) {
	pieces := newTreeCursor(o.g, top, uint64(o.header.ManifestPieces))
	var encoded []byte
	for i := range o.header.ManifestPieces {
		c, err := pieces.leaf(ctx, uint64(i))
		if err != nil {
			return nil, err
		}
		piece, err := getBlock(ctx, o.g, c)
		if err != nil {
			return nil, err
		}
		if encoded, err = o.appendPiece(encoded, i, piece); err != nil {
			return nil, err
		}
	}
	m, err := decodeManifest(encoded)
	if err != nil {
		return nil, err
	}
	if m.encrypted != o.header.Encrypted {
		return nil, fmt.Errorf("%w: manifest and header disagree on encryption", ErrInvalidManifest)
	}
	return m, nil
}

// appendPiece opens manifest piece i and appends its bytes to encoded.
// Encrypted version-2 pieces are length-prefixed and padded (padding.go).
func (o *Object) appendPiece(encoded []byte, i int, piece []byte) ([]byte, error) {
	if !o.header.Encrypted {
		return append(encoded, piece...), nil
	}
	if o.header.Version == 1 {
		return openPiece(encoded, pieceKey(o.capability.key, i), i, piece)
	}
	opened, err := openPiece(nil, pieceKey(o.capability.key, i), i, piece)
	if err != nil {
		return nil, err
	}
	body, err := unpadPiece(opened)
	if err != nil {
		return nil, fmt.Errorf("%w: manifest piece %d: %w", ErrCorruptBlock, i, err)
	}
	return append(encoded, body...), nil
}

func openPiece(dst []byte, k Key, i int, piece []byte) ([]byte, error) {
	out, err := open(dst, k, piece)
	if err != nil && i == 0 {
		return nil, ErrWrongKey
	}
	if err != nil {
		return nil, fmt.Errorf("%w: manifest piece %d fails authentication", ErrCorruptBlock, i)
	}
	return out, nil
}

func (o *Object) attachData(root pbNode) error {
	hasData := len(root.links) == 2
	if hasData != (o.manifest.leaves > 0) {
		return fmt.Errorf("%w: root has %d links for %d data chunks", ErrCorruptBlock, len(root.links), o.manifest.leaves)
	}
	if hasData {
		o.data = newTreeCursor(o.g, root.links[1].cid, o.manifest.leaves)
	}
	return nil
}

// Root returns the object ID.
func (o *Object) Root() cid.Cid { return o.capability.root }

// Header returns the plaintext header; Header().Encrypted says whether the
// object is encrypted.
func (o *Object) Header() Header { return o.header }

// Salt returns the salt the object was added with.
func (o *Object) Salt() []byte { return append([]byte(nil), o.manifest.salt...) }

// Entries returns the object's entries in stored order.
func (o *Object) Entries() []Entry {
	out := make([]Entry, len(o.manifest.entries))
	for i, e := range o.manifest.entries {
		e.chunks = nil
		out[i] = e
	}
	return out
}

// WriteFile writes the contents of the file entry at path to w.
func (o *Object) WriteFile(ctx context.Context, path string, w io.Writer) error {
	for i := range o.manifest.entries {
		e := &o.manifest.entries[i]
		if e.Path != path {
			continue
		}
		if e.Kind != KindFile {
			return fmt.Errorf("read %s: is a %s, not a file", path, e.Kind)
		}
		return o.writeContents(ctx, e, w)
	}
	return fmt.Errorf("read %s: %w", path, fs.ErrNotExist)
}

// writeContents streams a file's chunks to w, verifying each.
func (o *Object) writeContents(ctx context.Context, e *Entry, w io.Writer) error {
	if o.header.DAG {
		return o.writeDAGFile(ctx, e, w)
	}
	return o.writeChunks(ctx, e, w)
}
