// Package tombstone is the deterministic core of Cairn's deletion: signed,
// reversible tombstones, the set that merges them, acknowledgements from
// holders, the trash and purge schedule, block reference counting,
// retention with compaction, and anti-entropy summaries.
//
// Like etcd-io/raft, it does no IO and reads no clock: the node passes in
// messages and the current time and carries out the decisions (stop
// serving, purge blocks, send tombstones, flag laggards). It imports no
// networking or OS package; layers_test.go enforces that.
//
// # Messages
//
// Tombstone: object ID, version, deleted or restored, kind (owner or
// takedown), takedown reason, issue time, signer key and Ed25519 signature.
// Owner tombstones (cairn rm, cairn undelete) must be signed by the key
// recorded as the object's owner when it was added; takedowns by the
// federation authority. Anything else is rejected (ErrNotOwner,
// ErrNotAuthority, ErrBadSignature, ErrUnknownObject, ErrFutureTimestamp,
// ErrAbsurdVersion). The signature covers a SHA-256 of the reason, so a
// tombstone whose reason text was dropped by compaction still verifies.
//
// Ack: a holder's signed statement that it has applied a tombstone
// (stopped serving, counting and repairing the object) or purged it (the
// blocks are physically gone).
//
// Digest and Listing: anti-entropy. A Digest is 256 bucket hashes (2 KiB);
// peers compare digests, exchange Listings of the buckets that differ, and
// send each other the tombstones Missing reports.
//
// All four have a canonical binary encoding (a wire-version byte, a type
// byte, length-prefixed fields); the decoders never panic, bound what they
// allocate and reject anything that does not re-encode to the same bytes.
//
// # Ordering
//
// An object has two independent lanes, owner and takedown, each a
// last-writer-wins register ordered by version: the newest valid version
// wins whatever order messages arrive in. At equal versions a deletion
// beats a restore, then the larger signature wins. The object is deleted
// while either lane says so: an owner cannot undo a takedown, and lifting
// a takedown does not undo the owner's own deletion. Versions start at 1
// and grow by one per delete or undelete; a version more than
// Config.MaxVersionJump ahead of the newest known one is rejected, which
// makes arrival order matter only for such absurd jumps (anti-entropy
// delivers the intermediate versions and the jump is then accepted).
// Set.Merge is commutative, associative and idempotent.
//
// # Guarantees, in users' words
//
// Once you delete an object, every node that hears of it stops serving,
// counting and repairing it at once, and removes its blocks after the
// trash window (24 hours by default); until then cairn undelete brings it
// back. Chunks that another of your live objects still uses are kept. A
// node that was offline receives the deletion when it returns, before it
// announces anything. Deleted objects do not come back: the deletion is
// kept in full for the retention period (at least the longest time a node
// may be offline) and afterwards in a compact form, forever. A node that
// was away longer than the retention period resynchronises all deletions
// before it serves anything.
//
// Limits: deletion depends on the honesty of the holders. A holder that is
// malicious, or restored from an old disk image outside Cairn, can keep
// the bytes; Cairn cannot prove that bytes are gone, only that a holder
// said so. Holders that do not acknowledge in time are flagged as
// ignoring tombstones (Set.Laggards) so the federation can act; that is
// all we can do. Copies taken outside Cairn (downloads, backups of a
// holder's disk) are out of reach.
package tombstone
