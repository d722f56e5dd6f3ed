package object

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// maxLinks is the largest number of links in one node (the fan-out of the
// tree). It is part of the format: readers locate leaf i by arithmetic.
const maxLinks = 1024

// link is a dag-pb link: a child CID and the total size in bytes of the
// blocks under it (Tsize).
type link struct {
	cid  cid.Cid
	name string // empty in every node Cairn writes but a DAG object's root
	size uint64
}

// pbNode is the subset of dag-pb that Cairn writes: links (no names) and
// optional data.
type pbNode struct {
	links []link
	data  []byte
}

// sumCID returns the CIDv1 of data with the given codec and sha2-256.
func sumCID(codec uint64, data []byte) cid.Cid {
	digest := sha256.Sum256(data)
	mh, _ := multihash.Encode(digest[:], multihash.SHA2_256)
	return cid.NewCidV1(codec, mh)
}

// newBlock wraps data as a block with a CID of the given codec.
func newBlock(codec uint64, data []byte) blocks.Block {
	b, _ := blocks.NewBlockWithCid(data, sumCID(codec, data))
	return b
}

// encode returns the canonical dag-pb bytes of n: links first (field 2),
// each with Hash (field 1), Name (field 2, when not empty) and Tsize
// (field 3), then Data (field 1).
func (n pbNode) encode() []byte {
	out := make([]byte, 0, len(n.data)+len(n.links)*48+8)
	for _, l := range n.links {
		hash := l.cid.Bytes()
		body := 1 + uvarintLen(uint64(len(hash))) + len(hash) + 1 + uvarintLen(l.size)
		if l.name != "" {
			body += 1 + uvarintLen(uint64(len(l.name))) + len(l.name)
		}
		out = append(out, 0x12)
		out = binary.AppendUvarint(out, uint64(body))
		out = append(out, 0x0a)
		out = binary.AppendUvarint(out, uint64(len(hash)))
		out = append(out, hash...)
		if l.name != "" {
			out = append(out, 0x12)
			out = binary.AppendUvarint(out, uint64(len(l.name)))
			out = append(out, l.name...)
		}
		out = append(out, 0x18)
		out = binary.AppendUvarint(out, l.size)
	}
	if n.data != nil {
		out = append(out, 0x0a)
		out = binary.AppendUvarint(out, uint64(len(n.data)))
		out = append(out, n.data...)
	}
	return out
}

func uvarintLen(v uint64) int {
	return len(binary.AppendUvarint(nil, v))
}

// decodePBNode parses dag-pb bytes strictly: links before data, known
// fields only, at most maxLinks links, each link's Hash a valid CID.
func decodePBNode(b []byte) (pbNode, error) {
	return decodePBNodeLimit(b, maxLinks)
}

// decodePBNodeLimit is decodePBNode with at most limit links (0: any
// number, for DAGs written elsewhere, bounded by the block's size).
func decodePBNodeLimit(b []byte, limit int) (pbNode, error) {
	var n pbNode
	r := wireReader{buf: b}
	for !r.done() {
		field, body, err := r.field()
		if err != nil {
			return pbNode{}, err
		}
		switch {
		case field == 2 && n.data == nil:
			if limit > 0 && len(n.links) == limit {
				return pbNode{}, fmt.Errorf("more than %d links", limit)
			}
			l, err := decodePBLink(body)
			if err != nil {
				return pbNode{}, fmt.Errorf("link %d: %w", len(n.links), err)
			}
			n.links = append(n.links, l)
		case field == 1 && n.data == nil:
			n.data = append([]byte{}, body...)
		default:
			return pbNode{}, fmt.Errorf("unexpected field %d", field)
		}
	}
	return n, nil
}

func decodePBLink(b []byte) (link, error) {
	r := wireReader{buf: b}
	field, hash, err := r.field()
	if err != nil || field != 1 {
		return link{}, fmt.Errorf("missing hash")
	}
	_, c, err := cid.CidFromBytes(hash)
	if err != nil || len(c.Bytes()) != len(hash) {
		return link{}, fmt.Errorf("invalid cid")
	}
	l := link{cid: c}
	if r.peek() == 0x12 {
		_, name, err := r.field()
		if err != nil {
			return link{}, err
		}
		l.name = string(name)
	}
	if r.peek() == 0x18 {
		r.pos++
		if l.size, err = r.uvarint(); err != nil {
			return link{}, err
		}
	}
	if !r.done() {
		return link{}, fmt.Errorf("unexpected data after link fields")
	}
	return l, nil
}

// wireReader reads protobuf length-delimited fields and varints.
type wireReader struct {
	buf []byte
	pos int
}

func (r *wireReader) done() bool { return r.pos >= len(r.buf) }

func (r *wireReader) peek() byte {
	if r.done() {
		return 0
	}
	return r.buf[r.pos]
}

func (r *wireReader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.buf[r.pos:])
	if n <= 0 {
		return 0, fmt.Errorf("bad varint at offset %d", r.pos)
	}
	r.pos += n
	return v, nil
}

// field reads a length-delimited field and returns its number and body.
func (r *wireReader) field() (uint64, []byte, error) {
	tag, err := r.uvarint()
	if err != nil {
		return 0, nil, err
	}
	if tag&7 != 2 {
		return 0, nil, fmt.Errorf("field %d has wire type %d, want 2", tag>>3, tag&7)
	}
	size, err := r.uvarint()
	if err != nil {
		return 0, nil, err
	}
	if size > uint64(len(r.buf)-r.pos) {
		return 0, nil, fmt.Errorf("field %d is truncated", tag>>3)
	}
	body := r.buf[r.pos : r.pos+int(size)]
	r.pos += int(size)
	return tag >> 3, body, nil
}

// Prefixes of the only CIDs the format uses.
var (
	rootPrefix = cid.Prefix{Version: 1, Codec: cid.DagProtobuf, MhType: multihash.SHA2_256, MhLength: sha256.Size}
	leafPrefix = cid.Prefix{Version: 1, Codec: cid.Raw, MhType: multihash.SHA2_256, MhLength: sha256.Size}
)
