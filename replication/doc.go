// Package replication is Cairn's replication core: placement, the replica
// ledger, proof-of-storage challenges, copy counting, repair and release.
// It is deterministic and does no IO. The node feeds it messages and the
// current time and carries out the decisions it returns, in the manner of
// etcd-io/raft: the same inputs always give the same outputs.
//
// # The rule
//
// An object wants Target (R) copies on R distinct operators, spread over
// min(R, regions available) regions. A copy counts when this node holds it
// itself, or when the latest check of it passed within ProofFreshness,
// as judged by this node or by a member of another operator than the
// holder's; a passed check is carried forward by its verifier's later
// sampled rounds with the holder that passed in full (rounds.go). Copies on two nodes of one operator count once; copies of
// non-members or revoked members never count.
//
// # Messages
//
//   - Attestation: a holder's signed statement about its copy of one
//     object: held or released, pinned, and its latest challenge outcomes
//     against the other holders (Proofs); its target and block count are
//     hints no node acts on. It carries the newest owner's Policy the
//     holder knows, outside the holder's signature. Sent to the
//     object's audience (see audience.go: its holders, its first
//     candidates by rank, and its repair candidates), persisted, and
//     exchanged by anti-entropy. Per (object, holder), the highest Seq
//     wins. A node records only the objects it hears of.
//   - Policy: the owner's signed, versioned statement of the object's
//     target, with the object's root block. The root hashes to the object
//     ID and carries the owner key (Config.BindOwner reads it), so any node
//     checks who may sign without holding the object; the highest Version
//     wins. Owner tombstones are checked against the same key.
//   - Summary: sent on reconnect; the peer answers with Core.Missing, the
//     attestations the sender lacks among the objects it should hear of.
//   - Challenge / Response: one round of a peer pair: a holder asks
//     another for Digest(nonce, chosen blocks) of each of many copies the
//     two share (the new ones, and a random sample of the rest); the
//     answer is a digest or a refusal per item.
//   - Statement: a holder's signed word, addressed to one member, on
//     when its latest sampled round with each other holder passed in
//     full: what keeps unsampled copies counted, one message per member
//     to which it matters, listing only the holders that share an object
//     with the sender and the recipient.
//
// Each has a canonical binary encoding and a decoder safe for untrusted
// input (DecodeAttestation, DecodeSummary, DecodeChallenge,
// DecodeResponse, DecodeStatement).
//
// # Flow
//
// The node creates a Core with New and then, from one goroutine:
//
//   - calls SetMembers whenever a newer verified roster arrives;
//   - calls Track for objects it added (Pinned on the owner's node) or holds
//     after a restart, and Drop when a copy is gone;
//   - calls PeerDown when a member's last connection closes and PeerUp
//     when it is back (see reach.go);
//   - passes every attestation from delivery, anti-entropy or its own store
//     to Receive (rejections come back as sentinel errors to count and log);
//   - passes incoming challenges to HandleChallenge and answers as told;
//   - passes answers to its own challenges to ChallengeResponse, with the
//     digests it computed over its own copy, and members' statements to
//     ReceiveStatement;
//   - reports fetches with FetchDone;
//   - calls Tick regularly (every few hundred milliseconds) and carries out
//     the Actions: deliver attestations, send challenges and the
//     statement, start fetches, delete released copies.
//
// # Trust
//
// A member is not trusted because it is a member. Facts about an object
// come from the owner key its ID commits to (the policy) or from this
// node's own copy (the block count it challenges over); a holder's
// attestation only speaks for that holder's copy, and counts only as its
// challenges pass. What one member can make this node keep or check is
// bounded: MaxEntriesPerMember records of objects this node does not hold,
// AttestRate attestations and ChallengeRate challenge items per second
// (raised with the objects this node holds), ten statements per
// ChallengeInterval; beyond them its input is refused with ErrOverBound
// or ErrRateLimited.
//
// Status answers "is my data safe, and where?" from the local ledger alone.
package replication
