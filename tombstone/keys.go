package tombstone

import "crypto/ed25519"

// Keys tells a Set who may sign what. The node implements it from the
// objects' root blocks (owner keys), and the federation roster and
// authority (members' holder keys, the authority key).
type Keys interface {
	// ObjectOwner returns the owner key the object's ID commits to (read
	// from the object's root block, which hashes to the ID), or nil when
	// this node cannot tell. It must never come from a peer's claim, such
	// as a holder's attestation: then any member could delete any object.
	// A tombstone for an object with no known owner waits (ErrUnknownObject)
	// until the key is known.
	ObjectOwner(object string) ed25519.PublicKey
	// Authority returns the federation authority's key, or nil if the
	// federation has none (then every takedown is rejected).
	Authority() ed25519.PublicKey
	// HolderKey returns the public key of a holder (peer ID), or nil.
	HolderKey(holder string) ed25519.PublicKey
}

// MapKeys is an in-memory Keys for tests and tools.
type MapKeys struct {
	Owners       map[string]ed25519.PublicKey // object -> owner key
	AuthorityKey ed25519.PublicKey
	Holders      map[string]ed25519.PublicKey // holder -> key
}

var _ Keys = (*MapKeys)(nil)

// ObjectOwner implements Keys.
func (m *MapKeys) ObjectOwner(object string) ed25519.PublicKey { return m.Owners[object] }

// Authority implements Keys.
func (m *MapKeys) Authority() ed25519.PublicKey { return m.AuthorityKey }

// HolderKey implements Keys.
func (m *MapKeys) HolderKey(holder string) ed25519.PublicKey { return m.Holders[holder] }
