package object

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
)

func ownerSecret(b byte) [32]byte { return [32]byte{b, 'o', 'w', 'n'} }

func TestOwnerKeyRoundTrip(t *testing.T) {
	store := newMemStore()
	for _, opts := range []AddOptions{{OwnerSecret: ownerSecret(1)}, {OwnerSecret: ownerSecret(1), Unencrypted: true}} {
		res := addBytes(t, store, "f", randomBytes(600<<10, 1), testSecret(1), opts)
		raw := store.blocks[res.Root]
		priv, err := OwnerKey(ownerSecret(1), raw)
		if err != nil {
			t.Fatalf("OwnerKey: %v", err)
		}
		pub, err := BoundOwner(res.Root, raw)
		if err != nil {
			t.Fatalf("BoundOwner: %v", err)
		}
		msg := []byte("a claim about " + res.Root.String())
		if !ed25519.Verify(pub, msg, ed25519.Sign(priv, msg)) || !pub.Equal(res.Owner) {
			t.Errorf("the owner key does not verify a signature by OwnerKey's key, or differs from Result.Owner")
		}
		h, err := Stat(context.Background(), res.Root, store)
		if err != nil || h.Version != 2 || !h.Owner.Equal(pub) {
			t.Errorf("Stat = %+v, %v; want version 2 with the owner key", h, err)
		}
	}
}

// TestOwnerKeysLinkNothing: each object gets its own owner key, the same
// owner adding the same bytes gets the same key and root, and another
// owner's secret derives no key for the object.
func TestOwnerKeysLinkNothing(t *testing.T) {
	store := newMemStore()
	data := randomBytes(100<<10, 2)
	a := addBytes(t, store, "f", data, testSecret(1), AddOptions{OwnerSecret: ownerSecret(1)})
	again := addBytes(t, store, "f", data, testSecret(1), AddOptions{OwnerSecret: ownerSecret(1)})
	other := addBytes(t, store, "g", data, testSecret(1), AddOptions{OwnerSecret: ownerSecret(1)})
	if !again.Root.Equals(a.Root) || !again.Owner.Equal(a.Owner) {
		t.Errorf("re-adding the same bytes gave root %s key %x, want %s %x", again.Root, again.Owner, a.Root, a.Owner)
	}
	if other.Owner.Equal(a.Owner) {
		t.Errorf("two objects of one owner share the owner key %x", a.Owner)
	}
	if _, err := OwnerKey(ownerSecret(2), store.blocks[a.Root]); !errors.Is(err, ErrNotObjectOwner) {
		t.Errorf("OwnerKey with another owner's secret: %v, want ErrNotObjectOwner", err)
	}
}

func TestOwnerKeyRejects(t *testing.T) {
	store := newMemStore()
	res := addBytes(t, store, "f", randomBytes(600<<10, 3), testSecret(1), AddOptions{OwnerSecret: ownerSecret(1)})
	raw := store.blocks[res.Root]
	n, _ := decodePBNode(raw)
	swapped := pbNode{links: []link{n.links[1], n.links[0]}, data: n.data}.encode()
	otherOwner := bytes.Clone(raw)
	otherOwner[len(otherOwner)-1] ^= 1 // the header, and its owner key, end the block
	v1store, v1caps, _ := loadV1(t)
	v1root := v1caps[0].Root()
	tests := []struct {
		name string
		raw  []byte
		want error
	}{
		{"links swapped", swapped, ErrNotObjectOwner},
		{"owner key changed", otherOwner, ErrNotObjectOwner},
		{"version 1", v1store.blocks[v1root], ErrNoBoundOwner},
		{"oversized", append(bytes.Clone(raw), make([]byte, MaxRootSize)...), ErrNotCairnObject},
		{"not dag-pb", []byte("cairn"), ErrCorruptBlock},
		{"empty", nil, ErrNotCairnObject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := OwnerKey(ownerSecret(1), tt.raw); !errors.Is(err, tt.want) {
				t.Errorf("OwnerKey: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestBoundOwnerRejects(t *testing.T) {
	store := newMemStore()
	res := addBytes(t, store, "f", []byte("hello"), testSecret(1), AddOptions{OwnerSecret: ownerSecret(1)})
	raw := store.blocks[res.Root]
	tampered := bytes.Clone(raw)
	tampered[len(tampered)-1] ^= 1
	big := pbNode{links: []link{{cid: res.Root}}, data: make([]byte, MaxRootSize)}.encode()
	notPB := newBlock(cid.Raw, raw).Cid()
	v1store, v1caps, _ := loadV1(t)
	v1root := v1caps[1].Root()
	tests := []struct {
		name string
		root cid.Cid
		raw  []byte
		want error
		msg  string
	}{
		{"tampered bytes", res.Root, tampered, ErrCorruptBlock, "do not hash"},
		{"another root's bytes", v1root, raw, ErrCorruptBlock, "do not hash"},
		{"oversized", sumCID(cid.DagProtobuf, big), big, ErrNotCairnObject, "at most 4096"},
		{"raw cid", notPB, raw, ErrNotCairnObject, "not a dag-pb"},
		{"version 1", v1root, v1store.blocks[v1root], ErrNoBoundOwner, "version 1"},
		{"not a cairn root", sumCID(cid.DagProtobuf, pbNode{data: []byte("x")}.encode()), pbNode{data: []byte("x")}.encode(), ErrNotCairnObject, "no cairn header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := BoundOwner(tt.root, tt.raw)
			if !errors.Is(err, tt.want) || key != nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("BoundOwner: %x, %v; want %v mentioning %q", key, err, tt.want, tt.msg)
			}
		})
	}
}
