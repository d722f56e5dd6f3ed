package replication

import "crypto/ed25519"

// PeerID names a node. The node passes libp2p peer IDs in their string
// form; the core only compares them.
type PeerID string

// ObjectID names a stored object. The node passes CID strings; the core
// only compares and hashes them.
type ObjectID string

// Member is one verified entry of the federation roster.
type Member struct {
	Peer      PeerID
	Operator  string // organisation running the node; copies count once per operator
	Region    string
	PublicKey ed25519.PublicKey // verifies the member's attestations
	FreeBytes uint64            // capacity hint for placement; 0 means unknown
}
