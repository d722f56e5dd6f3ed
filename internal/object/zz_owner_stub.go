package object

// TEMPORARY stand-in until the format branch lands; removed at merge.

import (
	"crypto/ed25519"
	"errors"

	"github.com/ipfs/go-cid"
)

var (
	ErrNoBoundOwner   = errors.New("object: stub")
	ErrNotObjectOwner = errors.New("object: stub")
)

const MaxRootSize = 4096

func OwnerKey(ownerSecret [32]byte, rootRaw []byte) (ed25519.PrivateKey, error) {
	return nil, ErrNoBoundOwner
}

func BoundOwner(root cid.Cid, rootRaw []byte) (ed25519.PublicKey, error) {
	return nil, ErrNoBoundOwner
}
