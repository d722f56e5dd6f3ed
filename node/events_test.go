package node

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/replication"
)

// storedEvents reads every event of n's log.
func storedEvents(t *testing.T, n *Node) []netstat.Event {
	t.Helper()
	var out []netstat.Event
	for ev, err := range n.EventLog().Since(context.Background(), netstat.Cursor{}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// hasEvent reports whether evs hold an event of type typ about object
// obj (any, if "") and peer p (any, if "").
func hasEvent(evs []netstat.Event, typ netstat.EventType, obj, p string) bool {
	return slices.ContainsFunc(evs, func(ev netstat.Event) bool {
		return ev.Type == typ && (obj == "" || ev.Object == obj) && (p == "" || ev.Peer == p)
	})
}

// TestEventsFollowReplication: in a federation of two, an object added
// with two replicas is reported added, verified on the other member and
// at its target; when that member stops, it is reported gone and its copy
// lost. The member that fetched the copy reports its repair. The tallies
// behind metrics and health follow.
func TestEventsFollowReplication(t *testing.T) {
	ctx := context.Background()
	a, b := federatedPair(t, nil)
	bID := b.net.host.ID().String()
	res, err := a.Add(ctx, object.NewReaderSource("notes.txt", bytes.NewReader(bytes.Repeat([]byte("field notes\n"), 5000))), AddOptions{Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	obj := res.CID
	waitUntil(t, 30*time.Second, "the object to reach its target in the event stream", func() bool {
		return hasEvent(storedEvents(t, a), netstat.EventTargetReached, obj, "")
	})
	evs := storedEvents(t, a)
	for _, want := range []struct {
		typ  netstat.EventType
		obj  string
		peer string
	}{{netstat.EventObjectAdded, obj, ""}, {netstat.EventCopyVerified, obj, bID}, {netstat.EventPeerJoined, "", bID}} {
		if !hasEvent(evs, want.typ, want.obj, want.peer) {
			t.Errorf("no %s event for object %q peer %q in %v", want.typ, want.obj, want.peer, evs)
		}
	}
	added := slices.IndexFunc(evs, func(ev netstat.Event) bool { return ev.Type == netstat.EventObjectAdded && ev.Object == obj })
	reached := slices.IndexFunc(evs, func(ev netstat.Event) bool { return ev.Type == netstat.EventTargetReached && ev.Object == obj })
	if added > reached {
		t.Errorf("target_reached (event %d) before object_added (event %d)", reached, added)
	}
	if got := a.obs.Stats().Tally.Count(netstat.StateBackedUp); got != 1 {
		t.Errorf("tally counts %d backed up objects, want 1", got)
	}
	waitUntil(t, 10*time.Second, "b's fetch in b's event stream", func() bool {
		return slices.ContainsFunc(storedEvents(t, b), func(ev netstat.Event) bool {
			return ev.Type == netstat.EventRepairFinished && ev.Object == obj && ev.Detail == "ok"
		})
	})
	if !hasEvent(storedEvents(t, b), netstat.EventRepairStarted, obj, "") {
		t.Errorf("b finished fetching %s without a repair_started event", obj)
	}
	waitUntil(t, 10*time.Second, "a challenge of b to be counted", func() bool {
		h, err := a.Health(ctx)
		return err == nil && h.ChallengesPassed > 0
	})

	b.Close()
	waitUntil(t, 30*time.Second, "b's departure and its lost copy in the event stream", func() bool {
		evs := storedEvents(t, a)
		return hasEvent(evs, netstat.EventPeerLeft, "", bID) && hasEvent(evs, netstat.EventCopyLost, obj, bID)
	})
	for i, ev := range storedEvents(t, a) {
		if ev.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d", i, ev.Seq)
		}
		t.Logf("%d %s", ev.Seq, ev.Describe())
	}
}

// TestHooksForOtherWiring: objects reported with noteChanged are looked
// at again (the tombstone wiring reports deletions this way), and cairn
// health counts the members and the roster. (What deletions report to
// health and metrics is tested with a real silent holder in
// TestSilentHolderIsFlagged.)
func TestHooksForOtherWiring(t *testing.T) {
	ctx := context.Background()
	a, b := federatedPair(t, nil)
	h, err := a.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.MembersTotal != 2 || h.RosterVersion < 2 {
		t.Errorf("health: %d members, roster version %d; want 2 members and version 2 or more", h.MembersTotal, h.RosterVersion)
	}
	// A record the core never evaluated (applied straight to the ledger)
	// reaches the stream once reported.
	const obj = "bafkreiheardofbutneverevaluatedbytheloopxxxxxxxxxxxxxxxx"
	a.repl.Do(func(c *replication.Core) {
		c.Ledger().Apply(replication.Attestation{Object: obj, Holder: replication.PeerID(b.net.host.ID().String()), Seq: 1,
			IssuedAt: time.Now(), Held: true, Target: 1, Leaves: 4, Signature: make([]byte, 64)})
	})
	a.noteChanged(obj)
	waitUntil(t, 10*time.Second, "the reported object in the event stream", func() bool {
		return hasEvent(storedEvents(t, a), netstat.EventObjectAdded, obj, "")
	})
}

// gathered returns the value of the single sample of a gauge.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no single sample of %s", name)
	return 0
}
