package object

import (
	"bytes"
	"testing"

	"github.com/ipfs/boxo/ipld/merkledag/pb"
	"github.com/ipfs/go-cid"
	"google.golang.org/protobuf/proto"
)

// TestDagPBInterop checks our encoding against boxo's dag-pb protobuf
// schema, and that we decode what it describes.
func TestDagPBInterop(t *testing.T) {
	leaf := newBlock(cid.Raw, []byte("leaf"))
	n := pbNode{links: []link{{cid: leaf.Cid(), size: 4}, {cid: leaf.Cid(), size: 1 << 40}}, data: Header{Version: 1, Encrypted: true, ManifestPieces: 3}.encode()}
	encoded := n.encode()
	var ref pb.PBNode
	if err := proto.Unmarshal(encoded, &ref); err != nil {
		t.Fatalf("boxo pb cannot parse our node: %v", err)
	}
	if len(ref.Links) != 2 || !bytes.Equal(ref.Links[1].Hash, leaf.Cid().Bytes()) || ref.Links[1].GetTsize() != 1<<40 || !bytes.Equal(ref.Data, n.data) {
		t.Errorf("boxo pb sees %v, want our links and data", &ref)
	}
	got, err := decodePBNode(encoded)
	if err != nil || len(got.links) != 2 || !got.links[0].cid.Equals(leaf.Cid()) || !bytes.Equal(got.data, n.data) {
		t.Errorf("decodePBNode(encode(n)) = %+v, %v", got, err)
	}
}

func TestDecodePBNodeRejects(t *testing.T) {
	leaf := newBlock(cid.Raw, []byte("leaf"))
	good := pbNode{links: []link{{cid: leaf.Cid(), size: 4}}, data: []byte("d")}.encode()
	tests := []struct {
		name string
		in   []byte
	}{
		{"truncated", good[:len(good)-1]},
		{"data before links", append([]byte{0x0a, 0x01, 'd'}, good...)},
		{"unknown field", append(append([]byte{}, good...), 0x1a, 0x00)},
		{"varint field", []byte{0x08, 0x01}},
		{"bad cid", []byte{0x12, 0x04, 0x0a, 0x02, 0x01, 0x02}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodePBNode(tt.in); err == nil {
				t.Errorf("decodePBNode(%x) succeeded, want an error", tt.in)
			}
		})
	}
}
