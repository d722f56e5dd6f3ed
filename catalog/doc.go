// Package catalog is the deterministic core of the owner's catalog: the
// record of everything an owner added (names, capabilities, targets, root
// blocks, times, deletions), kept in the federation so that an owner who
// loses their machine keeps the list of what they had, not only the bytes.
//
// Like replication and tombstone, it does no IO and reads no clock: the
// node passes in its current listing and the time, stores the versions
// this package writes as ordinary encrypted objects, and carries heads
// between members.
//
// # Versions
//
// The catalog is a chain of versions, newest first by Previous, each an
// encrypted object like any other (storage peers learn its size and
// nothing else). A version holds the changes since the version before it
// (an entry put, an entry forgotten once its blocks were purged), each
// with the time it was seen; every CheckpointEvery versions, and whenever
// the changes since the last checkpoint outgrow the listing, a version
// holds the whole listing instead. Replaying from a checkpoint gives the
// listing at any time since: `cairn recover --at TIME`.
//
// # Heads
//
// A Head names the latest version: its sequence number, the time, and the
// version's capability sealed under a key only the owner derives, signed
// with the owner's catalog key (derived from the owner's master secret, so
// the paper key alone finds it). Every member keeps the latest head of
// each catalog key, so a new node holding only the owner's key asks its
// peers and takes the highest valid one. A member that lies can withhold
// or replay an old head, never forge one; a node asks every member.
// Members keep heads only from the member that publishes them, at most
// MaxHeadsPerPublisher keys each, so no member can make the others store
// more than that.
package catalog
