package object

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"path"
)

// decodeManifest parses untrusted manifest bytes. It never panics and
// allocates in proportion to len(b).
func decodeManifest(b []byte) (*manifest, error) {
	d := manifestDecoder{buf: b, kinds: map[string]Kind{}}
	m, err := d.manifest()
	if err != nil {
		return nil, fmt.Errorf("%w: %w (at byte %d)", ErrInvalidManifest, err, d.pos)
	}
	return m, nil
}

type manifestDecoder struct {
	buf   []byte
	pos   int
	kinds map[string]Kind // paths seen so far, to reject duplicates
	m     manifest
}

func (d *manifestDecoder) manifest() (*manifest, error) {
	if version, _ := d.byte(); version != manifestVersion {
		return nil, fmt.Errorf("manifest version %d, want %d", version, manifestVersion)
	}
	flags, err := d.byte()
	if err != nil || flags&^flagEncrypted != 0 {
		return nil, fmt.Errorf("bad manifest flags")
	}
	d.m.encrypted = flags == flagEncrypted
	if d.m.salt, err = d.bytes(maxSaltLen); err != nil {
		return nil, fmt.Errorf("salt: %w", err)
	}
	count, err := d.uvarint(uint64(len(d.buf)-d.pos) / 4) // an entry takes at least 4 bytes
	if err != nil {
		return nil, fmt.Errorf("entry count: %w", err)
	}
	d.m.entries = make([]Entry, 0, count)
	for i := range count {
		if err := d.entry(); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
	}
	if d.pos != len(d.buf) {
		return nil, fmt.Errorf("%d bytes of trailing data", len(d.buf)-d.pos)
	}
	return &d.m, nil
}

func (d *manifestDecoder) entry() error {
	kind, err := d.byte()
	if err != nil {
		return err
	}
	e := Entry{Kind: Kind(kind)}
	if err := d.path(&e); err != nil {
		return err
	}
	mode, err := d.uvarint(uint64(fs.ModePerm))
	if err != nil {
		return fmt.Errorf("mode: %w", err)
	}
	e.Mode = fs.FileMode(mode)
	switch e.Kind {
	case KindDir:
	case KindFile:
		err = d.fileChunks(&e)
	case KindSymlink:
		err = d.symlinkTarget(&e)
	default:
		err = fmt.Errorf("unknown kind %d", kind)
	}
	if err != nil {
		return err
	}
	d.m.entries = append(d.m.entries, e)
	return nil
}

// path reads and validates the entry path: it must be new and no parent
// may be a file or a symlink (extracting through a symlink could escape
// the destination directory).
func (d *manifestDecoder) path(e *Entry) error {
	p, err := d.bytes(maxPathLen)
	if err != nil {
		return fmt.Errorf("path: %w", err)
	}
	e.Path = string(p)
	if err := ValidatePath(e.Path); err != nil {
		return err
	}
	if _, dup := d.kinds[e.Path]; dup {
		return fmt.Errorf("duplicate path %q", e.Path)
	}
	for dir := path.Dir(e.Path); dir != "."; dir = path.Dir(dir) {
		if k, ok := d.kinds[dir]; ok && k != KindDir {
			return fmt.Errorf("path %q is below %s %q", e.Path, k, dir)
		}
	}
	d.kinds[e.Path] = e.Kind
	return nil
}

func (d *manifestDecoder) fileChunks(e *Entry) error {
	size, err := d.uvarint(1 << 62)
	if err != nil {
		return fmt.Errorf("size: %w", err)
	}
	first, err := d.uvarint(1 << 62)
	if err != nil || first != d.m.leaves {
		return fmt.Errorf("first leaf %d, want %d", first, d.m.leaves)
	}
	perChunk := uint64(1)
	if d.m.encrypted {
		perChunk += KeySize
	}
	count, err := d.uvarint(uint64(len(d.buf)-d.pos) / perChunk)
	if err != nil {
		return fmt.Errorf("chunk count: %w", err)
	}
	e.chunks = make([]chunkRef, count)
	var total uint64
	for i := range e.chunks {
		if e.chunks[i], err = d.chunk(d.m.leaves + uint64(i)); err != nil {
			return fmt.Errorf("chunk %d: %w", i, err)
		}
		total += uint64(e.chunks[i].size)
	}
	if total != size {
		return fmt.Errorf("chunks hold %d bytes, size says %d", total, size)
	}
	e.Size = int64(size)
	d.m.leaves += count
	return nil
}

func (d *manifestDecoder) chunk(leaf uint64) (chunkRef, error) {
	size, err := d.uvarint(MaxChunkSize)
	if err != nil || size == 0 {
		return chunkRef{}, fmt.Errorf("bad chunk size")
	}
	c := chunkRef{leaf: leaf, size: uint32(size)}
	if d.m.encrypted {
		if len(d.buf)-d.pos < KeySize {
			return chunkRef{}, fmt.Errorf("chunk key is truncated")
		}
		d.pos += copy(c.key[:], d.buf[d.pos:])
	}
	return c, nil
}

func (d *manifestDecoder) symlinkTarget(e *Entry) error {
	target, err := d.bytes(maxPathLen)
	if err != nil || len(target) == 0 {
		return fmt.Errorf("bad symlink target")
	}
	e.Target = string(target)
	return nil
}

func (d *manifestDecoder) byte() (byte, error) {
	if d.pos >= len(d.buf) {
		return 0, fmt.Errorf("unexpected end of manifest")
	}
	d.pos++
	return d.buf[d.pos-1], nil
}

// uvarint reads a varint no larger than limit.
func (d *manifestDecoder) uvarint(limit uint64) (uint64, error) {
	v, n := binary.Uvarint(d.buf[d.pos:])
	if n <= 0 {
		return 0, fmt.Errorf("bad varint")
	}
	if v > limit {
		return 0, fmt.Errorf("value %d exceeds %d", v, limit)
	}
	d.pos += n
	return v, nil
}

// bytes reads a length-prefixed byte string of at most limit bytes.
func (d *manifestDecoder) bytes(limit uint64) ([]byte, error) {
	n, err := d.uvarint(limit)
	if err != nil {
		return nil, err
	}
	if n > uint64(len(d.buf)-d.pos) {
		return nil, fmt.Errorf("%d-byte string is truncated", n)
	}
	d.pos += int(n)
	return d.buf[d.pos-int(n) : d.pos], nil
}
