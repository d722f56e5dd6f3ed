package replicas

import (
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/replication"
)

func att(obj, holder string, seq uint64) replication.Attestation {
	return replication.Attestation{Object: replication.ObjectID(obj), Holder: replication.PeerID(holder), Seq: seq}
}

func seqs(batch []replication.Attestation) []uint64 {
	var out []uint64
	for _, a := range batch {
		out = append(out, a.Seq)
	}
	slices.Sort(out)
	return out
}

// TestOutboxKeepsNewestPerRecord: one sender per peer; a newer record of
// the same holder and object replaces the waiting one, records of other
// holders or objects wait beside it.
func TestOutboxKeepsNewestPerRecord(t *testing.T) {
	var o Outbox
	p := peer.ID("p")
	if !o.Add(p, att("x", "h1", 1)) {
		t.Fatal("the first attestation for a peer did not start its sender")
	}
	for _, a := range []replication.Attestation{att("x", "h1", 3), att("x", "h1", 2), att("x", "h2", 4), att("y", "h1", 5)} {
		if o.Add(p, a) {
			t.Fatalf("adding seq %d started a second sender", a.Seq)
		}
	}
	if got := seqs(o.Take(p)); !slices.Equal(got, []uint64{3, 4, 5}) {
		t.Errorf("took seqs %v, want [3 4 5]: the newest of x/h1, and x/h2 and y/h1", got)
	}
	if got := o.Take(p); got != nil {
		t.Errorf("second take = %v, want nothing", got)
	}
	if !o.Add(p, att("z", "h1", 6)) {
		t.Error("after the queue ran dry, a new attestation did not start the sender again")
	}
}

// TestOutboxHoldsForOfflinePeer: a failed delivery to a peer that is gone
// keeps the batch (newer records queued meanwhile win) and stops the
// sender until the peer connects; while connected it retries with a
// growing backoff.
func TestOutboxHoldsForOfflinePeer(t *testing.T) {
	var o Outbox
	p := peer.ID("p")
	o.Add(p, att("x", "h1", 1))
	o.Add(p, att("y", "h1", 2))
	batch := o.Take(p)
	o.Add(p, att("x", "h1", 7)) // newer, queued while the batch was out
	if _, retry := o.PutBack(p, batch, false); retry {
		t.Fatal("retrying a peer that is not connected")
	}
	if o.Pending() != 2 {
		t.Errorf("%d attestations wait, want 2", o.Pending())
	}
	if !o.Resume(p) {
		t.Fatal("the peer connected but its sender did not resume")
	}
	if o.Resume(p) {
		t.Error("resume started a second sender")
	}
	batch = o.Take(p)
	if got := seqs(batch); !slices.Equal(got, []uint64{2, 7}) {
		t.Errorf("after putting back, took seqs %v, want [2 7]", got)
	}
	first, retry := o.PutBack(p, batch, true)
	if !retry || first != deliverRetry {
		t.Errorf("first retry after %s (retry %v), want %s", first, retry, deliverRetry)
	}
	var last time.Duration
	for range 10 {
		last, _ = o.PutBack(p, o.Take(p), true)
	}
	if last != deliverRetryMax {
		t.Errorf("backoff reached %s, want the cap %s", last, deliverRetryMax)
	}
	o.Sent(p)
	if again, _ := o.PutBack(p, nil, true); again != deliverRetry {
		t.Errorf("after a success the next retry waits %s, want %s", again, deliverRetry)
	}
}

// TestOutboxUnknownPeer: asking about a peer nothing was queued for is
// harmless: nothing to take, nothing to resume, no sender to retry.
func TestOutboxUnknownPeer(t *testing.T) {
	var o Outbox
	p := peer.ID("never")
	if got := o.Take(p); got != nil {
		t.Errorf("took %v from a peer with no queue", got)
	}
	if o.Resume(p) {
		t.Error("resumed a sender for a peer with no queue")
	}
	o.Sent(p)
	if _, retry := o.PutBack(p, nil, true); retry {
		t.Error("a retry was scheduled for a peer with no queue")
	}
}

// TestOutboxRetainDropsFormerMembers: the queue of a peer no longer a
// member is dropped; a member's stays; a former member's running sender
// finds nothing more and stops.
func TestOutboxRetainDropsFormerMembers(t *testing.T) {
	var o Outbox
	gone, idle, stays := peer.ID("gone"), peer.ID("idle"), peer.ID("stays")
	o.Add(gone, att("x", "h1", 1))
	o.Add(idle, att("x", "h1", 1))
	o.PutBack(idle, o.Take(idle), false) // its sender stopped: it was offline
	o.Add(stays, att("y", "h1", 2))
	o.Retain(func(p peer.ID) bool { return p == stays })
	if got := o.Pending(); got != 1 {
		t.Errorf("%d attestations wait after retaining one member, want 1", got)
	}
	if got := o.Take(gone); got != nil {
		t.Errorf("a former member's sender took %v, want nothing", got)
	}
	if o.Resume(idle) {
		t.Error("a former member's sender resumed")
	}
	if got := seqs(o.Take(stays)); !slices.Equal(got, []uint64{2}) {
		t.Errorf("the member's queue: took %v, want [2]", got)
	}
}
