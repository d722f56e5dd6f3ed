package object

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
)

// FormatVersion is the object format this package writes. It reads
// versions 1 and 2.
const FormatVersion = 2

// headerMagic starts the Data of every Cairn root node.
const headerMagic = "cairn"

// maxManifestPieces bounds the manifest at 1 GiB (about 25 million chunks).
const maxManifestPieces = 2048

const (
	flagEncrypted = 1
	flagDAG       = 2 // version 2 only: link 0 is a plain IPFS DAG, there is no manifest
)

// Header is the plaintext header in a root node's Data. Anyone holding the
// root block can read it, storage peers included: it reveals the format
// version, whether the object is encrypted, the number of manifest pieces
// (so, roughly, the manifest's size) and, from version 2, the object's
// owner key, nothing else.
//
// Layout: "cairn" | version byte | flags byte (bit 0: encrypted, bit 1:
// DAG) | manifest pieces uvarint, then in version 2 the 32-byte owner key,
// and for a DAG object an optional salt of up to 64 bytes.
type Header struct {
	Version   int
	Encrypted bool
	// DAG marks a DAG object (version 2, never encrypted): the root's one
	// link is the root of a plain IPFS DAG of dag-pb and raw blocks
	// (UnixFS for files and directories), named in the link; there is no
	// manifest, and ManifestPieces is 0. See dag.go.
	DAG            bool
	ManifestPieces int
	// Salt (a DAG object's only, at most 64 bytes, after the owner key)
	// makes a distinct object for the same DAG, as a salt in the manifest
	// does for other objects: an owner pinning again a DAG it deleted.
	Salt []byte
	// Owner is the object's owner key (version 2): an ed25519 public key
	// derived from the owner's object secret and the root's links, so it
	// differs for every object (see OwnerKey). Nil in version 1.
	Owner ed25519.PublicKey
}

// Equal reports whether h and o are the same header.
func (h Header) Equal(o Header) bool {
	return h.Version == o.Version && h.Encrypted == o.Encrypted && h.DAG == o.DAG &&
		h.ManifestPieces == o.ManifestPieces && bytes.Equal(h.Owner, o.Owner) && bytes.Equal(h.Salt, o.Salt)
}

func (h Header) encode() []byte {
	out := append([]byte(headerMagic), byte(h.Version), 0)
	if h.Encrypted {
		out[len(headerMagic)+1] |= flagEncrypted
	}
	if h.DAG {
		out[len(headerMagic)+1] |= flagDAG
	}
	out = binary.AppendUvarint(out, uint64(h.ManifestPieces))
	out = append(out, h.Owner...)
	return append(out, h.Salt...)
}

// DecodeHeader parses a root node's Data. It returns ErrNotCairnObject when
// the magic is missing or the header is malformed, and
// ErrUnsupportedVersion for a version other than 1 and 2.
func DecodeHeader(data []byte) (Header, error) {
	if len(data) < len(headerMagic)+2 || string(data[:len(headerMagic)]) != headerMagic {
		return Header{}, fmt.Errorf("%w: root data has no cairn header", ErrNotCairnObject)
	}
	h := Header{Version: int(data[len(headerMagic)])}
	if h.Version != 1 && h.Version != 2 {
		return Header{}, fmt.Errorf("%w: version %d, this build reads 1 and 2", ErrUnsupportedVersion, h.Version)
	}
	flags := data[len(headerMagic)+1]
	known := byte(flagEncrypted)
	if h.Version >= 2 {
		known |= flagDAG
	}
	if flags&^known != 0 {
		return Header{}, fmt.Errorf("%w: unknown header flags %#x", ErrNotCairnObject, flags)
	}
	h.Encrypted = flags&flagEncrypted != 0
	h.DAG = flags&flagDAG != 0
	if h.DAG && h.Encrypted {
		return Header{}, fmt.Errorf("%w: a DAG object cannot be encrypted", ErrNotCairnObject)
	}
	rest := data[len(headerMagic)+2:]
	pieces, n := binary.Uvarint(rest)
	switch {
	case n <= 0 || pieces > maxManifestPieces:
		return Header{}, fmt.Errorf("%w: bad manifest piece count in header", ErrNotCairnObject)
	case h.DAG && pieces != 0:
		return Header{}, fmt.Errorf("%w: a DAG object has no manifest but the header counts %d pieces", ErrNotCairnObject, pieces)
	case !h.DAG && pieces == 0:
		return Header{}, fmt.Errorf("%w: bad manifest piece count in header", ErrNotCairnObject)
	}
	h.ManifestPieces = int(pieces)
	rest = rest[n:]
	ownerLen := 0
	if h.Version >= 2 {
		ownerLen = ed25519.PublicKeySize
	}
	saltLen := len(rest) - ownerLen
	if saltLen < 0 || saltLen > 0 && (!h.DAG || saltLen > maxSaltLen) {
		return Header{}, fmt.Errorf("%w: version %d header has %d bytes after the piece count, want %d", ErrNotCairnObject, h.Version, len(rest), ownerLen)
	}
	if ownerLen > 0 {
		h.Owner = bytes.Clone(rest[:ownerLen])
	}
	if saltLen > 0 {
		h.Salt = bytes.Clone(rest[ownerLen:])
	}
	return h, nil
}
