package object

import (
	"encoding/binary"
	"fmt"
)

// FormatVersion is the object format this package writes.
const FormatVersion = 1

// headerMagic starts the Data of every Cairn root node.
const headerMagic = "cairn"

// maxManifestPieces bounds the manifest at 1 GiB (about 25 million chunks).
const maxManifestPieces = 2048

const flagEncrypted = 1

// Header is the plaintext header in a root node's Data. Anyone holding the
// root block can read it, storage peers included: it reveals the format
// version, whether the object is encrypted and the number of manifest
// pieces (so, roughly, the manifest's size), nothing else.
type Header struct {
	Version        int
	Encrypted      bool
	ManifestPieces int
}

func (h Header) encode() []byte {
	out := append([]byte(headerMagic), byte(h.Version), 0)
	if h.Encrypted {
		out[len(headerMagic)+1] = flagEncrypted
	}
	return binary.AppendUvarint(out, uint64(h.ManifestPieces))
}

// DecodeHeader parses a root node's Data. It returns ErrNotCairnObject when
// the magic is missing and ErrUnsupportedVersion for a newer version.
func DecodeHeader(data []byte) (Header, error) {
	if len(data) < len(headerMagic)+2 || string(data[:len(headerMagic)]) != headerMagic {
		return Header{}, fmt.Errorf("%w: root data has no cairn header", ErrNotCairnObject)
	}
	h := Header{Version: int(data[len(headerMagic)])}
	if h.Version != FormatVersion {
		return Header{}, fmt.Errorf("%w: version %d, this build reads %d", ErrUnsupportedVersion, h.Version, FormatVersion)
	}
	flags := data[len(headerMagic)+1]
	if flags&^flagEncrypted != 0 {
		return Header{}, fmt.Errorf("%w: unknown header flags %#x", ErrNotCairnObject, flags)
	}
	h.Encrypted = flags&flagEncrypted != 0
	rest := data[len(headerMagic)+2:]
	pieces, n := binary.Uvarint(rest)
	if n <= 0 || n != len(rest) || pieces == 0 || pieces > maxManifestPieces {
		return Header{}, fmt.Errorf("%w: bad manifest piece count in header", ErrNotCairnObject)
	}
	h.ManifestPieces = int(pieces)
	return h, nil
}
