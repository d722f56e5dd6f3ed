package object

import (
	"crypto/ed25519"
	"fmt"

	"github.com/ipfs/go-cid"
)

// MaxRootSize bounds a root block: a header and two links take about 130
// bytes, so anything over 4 KiB is not a Cairn root.
const MaxRootSize = 4096

// domainOwnerKey separates owner-key seeds from every other use of the
// owner's object secret; domainDAGOwnerKey separates those of DAG objects,
// whose seed input (one CID and a salt) could otherwise equal another
// object's (two CIDs).
const (
	domainOwnerKey    = "cairn object owner key v2"
	domainDAGOwnerKey = "cairn DAG object owner key v1"
)

// ownerPrivateKey derives an object's owner key from the owner's object
// secret and the root's links:
//
//	seed = BLAKE3(key: ownerSecret, "cairn object owner key v2" || link 0 CID || link 1 CID)
//	seed = BLAKE3(key: ownerSecret, "cairn DAG object owner key v1" || link 0 CID || salt)   (a DAG object)
//
// with each CID in its binary form (self-delimiting). The links are fixed before the root
// is built, so the root CID commits to the key, and the same owner adding
// the same bytes gets the same key and root again. Holders cannot link
// two keys to one owner without the secret.
func ownerPrivateKey(ownerSecret *[32]byte, links []link, dag bool, salt []byte) ed25519.PrivateKey {
	var ids []byte
	for _, l := range links {
		ids = append(ids, l.cid.Bytes()...)
	}
	domain := domainOwnerKey
	if dag {
		domain = domainDAGOwnerKey
		ids = append(ids, salt...)
	}
	seed := keyedHash(ownerSecret[:], domain, ids)
	return ed25519.NewKeyFromSeed(seed[:])
}

// OwnerKey re-derives the owner private key of the object whose root
// block is rootRaw, for the owner whose object secret is ownerSecret. It
// returns an error wrapping ErrNotObjectOwner when the object is not this
// owner's (the derived public key is not the header's) and
// ErrNoBoundOwner for a version-1 object, which binds no owner.
func OwnerKey(ownerSecret [32]byte, rootRaw []byte) (ed25519.PrivateKey, error) {
	n, h, err := parseRoot(rootRaw)
	if err != nil {
		return nil, fmt.Errorf("owner key: %w", err)
	}
	if h.Owner == nil {
		return nil, fmt.Errorf("owner key: %w (format version %d)", ErrNoBoundOwner, h.Version)
	}
	priv := ownerPrivateKey(&ownerSecret, n.links, h.DAG, h.Salt)
	if !h.Owner.Equal(priv.Public()) {
		return nil, fmt.Errorf("owner key: %w", ErrNotObjectOwner)
	}
	return priv, nil
}

// BoundOwner returns the owner key that the object root commits to, from
// untrusted bytes rootRaw that claim to be root's block: it checks that
// they hash to root, that they are no larger than MaxRootSize, and that
// they are a dag-pb Cairn root. A version-1 object gives ErrNoBoundOwner.
func BoundOwner(root cid.Cid, rootRaw []byte) (ed25519.PublicKey, error) {
	if len(rootRaw) > MaxRootSize {
		return nil, fmt.Errorf("bound owner of %s: %w: root block has %d bytes, a cairn root at most %d", root, ErrNotCairnObject, len(rootRaw), MaxRootSize)
	}
	if root.Prefix() != rootPrefix {
		return nil, fmt.Errorf("bound owner of %s: %w: not a dag-pb sha2-256 cidv1", root, ErrNotCairnObject)
	}
	sum, err := root.Prefix().Sum(rootRaw)
	if err != nil || !sum.Equals(root) {
		return nil, fmt.Errorf("bound owner of %s: %w: the bytes do not hash to the root", root, ErrCorruptBlock)
	}
	_, h, err := parseRoot(rootRaw)
	if err != nil {
		return nil, fmt.Errorf("bound owner of %s: %w", root, err)
	}
	if h.Owner == nil {
		return nil, fmt.Errorf("bound owner of %s: %w (format version %d)", root, ErrNoBoundOwner, h.Version)
	}
	return h.Owner, nil
}

// parseRoot decodes a root block's bytes, whatever their origin: size,
// dag-pb structure, header and link count. It does not check the hash.
func parseRoot(raw []byte) (pbNode, Header, error) {
	if len(raw) > MaxRootSize {
		return pbNode{}, Header{}, fmt.Errorf("%w: root block has %d bytes, a cairn root at most %d", ErrNotCairnObject, len(raw), MaxRootSize)
	}
	n, err := decodePBNode(raw)
	if err != nil {
		return pbNode{}, Header{}, fmt.Errorf("%w: root node: %w", ErrCorruptBlock, err)
	}
	h, err := DecodeHeader(n.data)
	if err != nil {
		return pbNode{}, Header{}, err
	}
	switch {
	case h.DAG && len(n.links) != 1:
		return pbNode{}, Header{}, fmt.Errorf("%w: DAG object root has %d links, want 1", ErrCorruptBlock, len(n.links))
	case len(n.links) != 1 && len(n.links) != 2:
		return pbNode{}, Header{}, fmt.Errorf("%w: root has %d links, want 1 or 2", ErrCorruptBlock, len(n.links))
	}
	return n, h, nil
}
