// Package netstat turns what Cairn's replication and tombstone cores know
// into the plain words people and tools see: one state per object, ages
// that show when information is old, per-object and per-node views for
// cairn status, cairn health and the dashboard, a tally of all objects,
// a paginated overview, and the events an object's changes imply.
//
// It is deterministic and does no IO: it reads no clock (every function
// that judges age takes now), imports no networking or OS package
// (layers_test.go enforces that), and keeps no state beyond its Config.
// The node feeds it replication.ObjectStatus, tombstone.Progress and
// plain counters, and serves, stores and publishes what it returns.
//
// # States
//
// Every object is in exactly one state, with the same word in the CLI,
// the JSON API, the dashboard and the metrics:
//
//	word         label        symbol  colour  meaning
//	backed_up    Backed up    ✓ (+)   green   Target verified copies on distinct operators
//	replicating  Replicating  ↻ (~)   blue    new, below target, copies on their way
//	local_only   Local only   ○ (o)   grey    only the owner's node holds it
//	at_risk      At risk      ⚠ (!)   orange  below target after reaching it, or past the grace
//	lost         Lost         ✗ (X)   red     no verified copy anywhere
//	deleting     Deleting     ⊖ (-)   purple  deleted; some holder has not removed its blocks
//	deleted      Deleted      ∅ (.)   grey    deleted; every holder has removed its blocks
//
// (The symbol in brackets is the ASCII fallback for terminals.)
//
// The state derives from these facts (Facts): the target; the verified
// copies, counted once per operator (replication's rule: a copy counts
// while its latest challenge passed within the proof freshness window;
// this node's own copy always counts); whether the owner's node (the
// holder that pinned the object) claims a copy; whether any other node
// claims one, verified or not; whether some claimed copy has not been
// challenged yet; whether the object ever reached its target; whether it
// is older than Config.AtRiskGrace; and the tombstone progress. The first
// rule that matches wins:
//
//  1. deleted, deleting: a tombstone deletes the object. Deleted once every
//     holder at the time of deletion confirmed that the blocks are gone.
//  2. local_only: the owner's node is the only node claiming a copy. If
//     the object had reached a target above 1, it is at_risk instead: it
//     lost the copies it had elsewhere.
//  3. backed_up: verified copies >= target.
//  4. lost: no verified copy. A new object (never at target, within the
//     grace) whose holders are not yet verified is replicating instead.
//  5. at_risk: some but fewer verified copies than the target, and the
//     object reached its target before or is past the grace.
//  6. replicating: otherwise.
//
// Separately, an object is safe to go offline (SafeOffline) when at least
// one verified copy lives on a node other than the owner's: the owner may
// switch its computer off and the data stays reachable.
//
// # Ages
//
// Times are shown with their age ("verified 12 s ago"). Information older
// than Config.StaleAfter (default twice the proof freshness window) is
// marked stale ("verified 3 h ago (stale)"), so old information looks old.
//
// # Events
//
// The event log is append-only and ordered; each event has a sequence
// number and an opaque cursor, and a subscriber that resumes from its last
// cursor sees every later event exactly once. The types, with their
// stable JSON words:
//
//	object_added           an object became known to this node
//	copy_verified          a holder's copy passed a challenge and now counts
//	target_reached         the object became backed_up
//	copy_lost              a counted copy stopped counting (detail says why)
//	repair_started         this node started fetching a copy to repair an object
//	repair_finished        that fetch ended (detail "ok" or the error)
//	tombstone_applied      a tombstone now deletes the object here
//	deletion_acknowledged  a holder confirmed it applied a deletion
//	peer_joined            a member came online or joined the roster
//	peer_left              a member went offline or left the roster
//	state_changed          the object's state changed (from, to)
//
// Diff computes the object events from two successive ObjectViews; the
// node adds repair and peer events. Cursors (and the overview's page
// cursors) are base64url text with a version and a checksum; ParseCursor
// rejects anything else with ErrMalformedCursor and a reason.
package netstat
