// Package federation is the deterministic core of Cairn's membership: the
// federation authority key, the signed roster of members (peer, operator,
// region) and revocations, the rule that decides which roster a node
// keeps, the admin operations behind cairn federation create, admit and
// revoke, and join tokens.
//
// Like the replication and tombstone cores it does no IO and reads no
// clock: callers pass the current time. It imports no libp2p, so peer IDs
// are plain strings and every member's ed25519 public key is carried in
// the roster; the node checks that a connecting peer's ID matches its key.
// layers_test.go enforces this.
//
// # Identity
//
// The authority is one ed25519 key. The federation ID is "cfed1" followed
// by 32 lowercase base32 characters of SHA-256("cairn federation id
// v1\x00" || public key) cut to 160 bits, so the ID names the key: a
// roster proves it comes from the federation's authority by carrying the
// key and a signature by it.
//
// # Roster encoding
//
// Big-endian, canonical (one encoding per roster; DecodeRoster rejects
// trailing bytes, unsorted or duplicate entries):
//
//	u8   format (1)
//	u16+ federation ID, u16+ name           (u16 length, then bytes)
//	u64  version, u64 issued at             (Unix nanoseconds; 0 = none)
//	u8+  authority public key (32)          (u8 length, then bytes)
//	u32  member count, then per member:
//	     u16+ peer ID, u8+ public key, u16+ operator, u16+ region,
//	     u64 admitted at, u64 expires (0 = never)
//	u32  revocation count, then per revocation:
//	     u16+ peer ID, u64 at, u16+ reason
//	u8+  signature (64)
//
// The signature is ed25519 over "cairn roster v1\x00" followed by every
// byte before the signature. Members and revocations are sorted by peer ID.
// Counts are bounded (MaxMembers, MaxRevocations) and checked against the
// bytes left before anything is allocated; a roster is at most
// MaxRosterSize bytes.
//
// # Rules
//
// Names (federation, operator, region) are 1..MaxNameLen bytes of
// printable UTF-8 without surrounding space; peer IDs are printable ASCII.
// No peer ID or public key appears twice; a revoked peer is not listed as
// a member; a member whose Expires has passed is not a member at that
// time. Accept keeps the valid roster with the highest version, rejects
// replays (ErrStale), forgeries (ErrBadSignature), other federations
// (ErrOtherFederation) and absurd jumps (ErrVersionJump), and breaks ties
// between two different rosters of one version deterministically
// (ErrConflict), so that members converge whatever the order of arrival.
//
// # Printable strings
//
// Join tokens ("cjoin1...") and authority key files ("cauth1...") share an
// envelope: a prefix, then lowercase unpadded base32 of [format u8][body
// length u32][body][first 8 bytes of SHA-256(prefix || all before)]. The
// declared length tells truncation (ErrTruncated) from damage
// (ErrCorrupted). A token's body is: u16+ federation ID, u16+ peer ID, u64
// expiry, u8 address count and u16+ addresses, u32 roster length and the
// encoded roster, u8+ signature by the authority over "cairn join token
// v1\x00" and the rest of the body.
//
// See docs/federation.md for the trust model.
package federation
