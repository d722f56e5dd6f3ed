package tombstone

import "crypto/ed25519"

// Keys tells a Set who may sign what. The node implements it from the
// replica ledger's attestations (owner keys) and the federation config
// (authority, members' holder keys).
type Keys interface {
	// ObjectOwner returns the owner key recorded when the object was
	// added, or nil when this node does not know the object.
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
