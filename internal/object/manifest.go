package object

import (
	"encoding/binary"
	"fmt"
	"github.com/ipfs/go-cid"
	"io/fs"
	"strings"
)

// Kind is the type of an entry.
type Kind uint8

// Entry kinds.
const (
	KindDir     Kind = 1
	KindFile    Kind = 2
	KindSymlink Kind = 3
)

func (k Kind) String() string {
	switch k {
	case KindDir:
		return "dir"
	case KindFile:
		return "file"
	case KindSymlink:
		return "symlink"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Entry is one file, directory or symlink of an object.
type Entry struct {
	Path   string      // relative, slash-separated, validated (see ValidatePath)
	Kind   Kind        // dir, file or symlink
	Mode   fs.FileMode // permission bits only
	Size   int64       // plaintext bytes of a file; 0 for others
	Target string      // symlink target, stored as given

	chunks []chunkRef // set in manifests; not filled by sources
	dag    cid.Cid    // a DAG object's file: its UnixFS node
}

// chunkRef locates one chunk of a file: its data leaf index, plaintext
// length and key (zero when the object is unencrypted).
type chunkRef struct {
	leaf uint64
	size uint32
	key  Key
}

// Format limits enforced when decoding.
const (
	manifestVersion = 1
	maxSaltLen      = 64
	maxPathLen      = 4096
	// MaxChunkSize is the largest chunk the format allows; sealed chunks
	// must stay under bitswap's 2 MiB block limit.
	MaxChunkSize = 2<<20 - 1024
)

// manifest is the encrypted metadata of an object.
type manifest struct {
	encrypted bool
	salt      []byte
	entries   []Entry
	leaves    uint64 // data leaves, the sum of all files' chunk counts
}

// ValidatePath reports whether p is a safe relative entry path.
func ValidatePath(p string) error {
	if p == "" || len(p) > maxPathLen || strings.ContainsAny(p, "\\\x00") || p[0] == '/' {
		return fmt.Errorf("%w: %q", ErrInvalidPath, p)
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: %q", ErrInvalidPath, p)
		}
	}
	return nil
}

func (m *manifest) encode() []byte {
	out := []byte{manifestVersion, 0}
	if m.encrypted {
		out[1] = flagEncrypted
	}
	out = appendBytes(out, m.salt)
	out = binary.AppendUvarint(out, uint64(len(m.entries)))
	var leaves uint64
	for i := range m.entries {
		out = m.appendEntry(out, &m.entries[i], leaves)
		leaves += uint64(len(m.entries[i].chunks))
	}
	return out
}

// appendEntry encodes e, whose first chunk (if any) is data leaf first.
func (m *manifest) appendEntry(out []byte, e *Entry, first uint64) []byte {
	out = append(out, byte(e.Kind))
	out = appendBytes(out, []byte(e.Path))
	out = binary.AppendUvarint(out, uint64(e.Mode.Perm()))
	switch e.Kind {
	case KindFile:
		out = binary.AppendUvarint(out, uint64(e.Size))
		out = binary.AppendUvarint(out, first)
		out = binary.AppendUvarint(out, uint64(len(e.chunks)))
		for _, c := range e.chunks {
			out = binary.AppendUvarint(out, uint64(c.size))
			if m.encrypted {
				out = append(out, c.key[:]...)
			}
		}
	case KindSymlink:
		out = appendBytes(out, []byte(e.Target))
	}
	return out
}

func appendBytes(out, b []byte) []byte {
	out = binary.AppendUvarint(out, uint64(len(b)))
	return append(out, b...)
}
