package events

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/eventlog"
	"github.com/cairn-fed/cairn/replication"
)

const (
	peerA = "12D3KooWHolderAAAA"
	peerB = "12D3KooWHolderBBBB"
)

func holder(p, op, region, state string) netstat.HolderView {
	return netstat.HolderView{PeerID: p, Operator: op, Region: region, State: state}
}

// newRecorder is an Observer with the state Run creates.
func newRecorder() *Observer {
	return &Observer{seen: map[string]seenObject{}, transient: map[string]struct{}{}}
}

// TestRememberViewOf: what remember keeps of a view is what viewOf gives
// back to Diff, so an unchanged object yields no events; forget drops it
// and its count.
func TestRememberViewOf(t *testing.T) {
	del := &netstat.DeletionView{}
	for _, tc := range []struct {
		name      string
		view      netstat.ObjectView
		transient bool
		under     int
	}{
		{"backed up", netstat.ObjectView{CID: "a", State: netstat.StateBackedUp, Copies: 2, Target: 2,
			Holders: []netstat.HolderView{holder(peerA, "op-a", "eu", "verified"), holder(peerB, "op-b", "us", "verified")}}, false, 0},
		{"replicating", netstat.ObjectView{CID: "r", State: netstat.StateReplicating, Copies: 1, Target: 3,
			Holders: []netstat.HolderView{holder(peerA, "op-a", "eu", "unverified")}}, true, 1},
		{"deleted", netstat.ObjectView{CID: "d", State: netstat.StateDeleted, Target: 3, DeletionView: del}, false, 0},
		{"no holders", netstat.ObjectView{CID: "l", State: netstat.StateLost, Target: 1}, false, 1},
		{"unknown holder state", netstat.ObjectView{CID: "u", State: netstat.StateAtRisk, Copies: 1, Target: 2,
			Holders: []netstat.HolderView{holder(peerB, "op-b", "us", "no-such-state")}}, false, 1},
	} {
		o := newRecorder()
		o.remember(tc.view.CID, seenObject{}, false, tc.view, make([]Check, len(tc.view.Holders)))
		so, ok := o.seen[tc.view.CID]
		if !ok {
			t.Fatalf("%s: not kept", tc.name)
		}
		got := o.viewOf(tc.view.CID, so, true)
		want := tc.view
		for i := range want.Holders {
			if holderCode(want.Holders[i].State) == 255 {
				want.Holders[i].State = replication.HolderState(255).String()
			}
		}
		if got.CID != want.CID || got.State != want.State || got.Copies != want.Copies || got.Target != want.Target ||
			got.DeletionView != want.DeletionView || !slices.Equal(got.Holders, want.Holders) {
			t.Errorf("%s: viewOf gives %+v, want %+v", tc.name, got, want)
		}
		unknown := slices.ContainsFunc(tc.view.Holders, func(h netstat.HolderView) bool { return holderCode(h.State) == 255 })
		if evs := netstat.Diff(got, tc.view); len(evs) != 0 && !unknown {
			t.Errorf("%s: the kept view differs from the one kept: %v", tc.name, evs)
		}
		if _, tr := o.transient[tc.view.CID]; tr != tc.transient {
			t.Errorf("%s: transient %v, want %v", tc.name, tr, tc.transient)
		}
		s := o.Stats()
		if s.Tally.Count(tc.view.State) != 1 || s.Tally.Total() != 1 || s.Under != tc.under {
			t.Errorf("%s: tally %s, under %d; want one %s, under %d", tc.name, s.Tally, s.Under, tc.view.State, tc.under)
		}
		o.forget(tc.view.CID, so)
		if s := o.Stats(); s.Tally.Total() != 0 || s.Under != 0 || len(o.seen) != 0 || len(o.transient) != 0 {
			t.Errorf("%s: after forget: tally %s, under %d, %d seen, %d transient; want nothing", tc.name, s.Tally, s.Under, len(o.seen), len(o.transient))
		}
	}
	if v := newRecorder().viewOf("x", seenObject{state: netstat.StateLost}, false); v.CID != "" || v.State != netstat.StateUnknown {
		t.Errorf("viewOf an object never seen: %+v, want the zero view", v)
	}
}

// TestPeerTable: each peer gets one number; its operator and region are
// the latest known, and a view without them does not erase them.
func TestPeerTable(t *testing.T) {
	var pt peerTable
	steps := []struct {
		h                  netstat.HolderView
		wantIdx            uint32
		wantOp, wantRegion string
	}{
		{holder(peerA, "", "", ""), 0, "", ""},
		{holder(peerB, "op-b", "us", ""), 1, "op-b", "us"},
		{holder(peerA, "op-a", "eu", ""), 0, "op-a", "eu"},
		{holder(peerA, "", "", ""), 0, "op-a", "eu"},
		{holder(peerA, "op-a2", "ap", ""), 0, "op-a2", "ap"},
	}
	for i, s := range steps {
		got := pt.intern(s.h)
		info := pt.info[got]
		if got != s.wantIdx || info.PeerID != s.h.PeerID || info.Operator != s.wantOp || info.Region != s.wantRegion {
			t.Errorf("step %d: intern(%s) = %d %+v, want %d %s/%s", i, s.h.PeerID, got, info, s.wantIdx, s.wantOp, s.wantRegion)
		}
	}
	if len(pt.info) != 2 {
		t.Errorf("%d peers numbered, want 2", len(pt.info))
	}
	if i, ok := pt.lookup(peerB); !ok || i != 1 {
		t.Errorf("lookup(%s) = %d, %v; want 1, true", peerB, i, ok)
	}
	if _, ok := pt.lookup("12D3KooWNever"); ok {
		t.Error("lookup of a peer never interned succeeded")
	}
}

// TestCountChallenges: a challenge is counted once, when a view shows a
// later one than the previous view did; failures run on until a pass.
func TestCountChallenges(t *testing.T) {
	view := netstat.ObjectView{CID: "c", State: netstat.StateBackedUp, Copies: 1, Target: 1,
		Holders: []netstat.HolderView{holder(peerA, "op-a", "eu", "verified"), holder(peerB, "op-b", "us", "verified")}}
	pass := func(at int64) Check { return Check{At: at, Result: replication.ResultPass} }
	fail := func(at int64) Check { return Check{At: at, Result: replication.ResultFail} }
	steps := []struct {
		checks       []Check
		wantA, wantB netstat.PeerChallenges // Passed, Failed, ConsecutiveFailures only
	}{
		{[]Check{{}, {}}, netstat.PeerChallenges{}, netstat.PeerChallenges{}},
		{[]Check{pass(1000), {}}, netstat.PeerChallenges{Passed: 1}, netstat.PeerChallenges{}},
		{[]Check{pass(1000), fail(1500)}, netstat.PeerChallenges{Passed: 1}, netstat.PeerChallenges{Failed: 1, ConsecutiveFailures: 1}},
		{[]Check{pass(1000), fail(1500)}, netstat.PeerChallenges{Passed: 1}, netstat.PeerChallenges{Failed: 1, ConsecutiveFailures: 1}},
		{[]Check{pass(900), fail(2000)}, netstat.PeerChallenges{Passed: 1}, netstat.PeerChallenges{Failed: 2, ConsecutiveFailures: 2}},
		{[]Check{pass(3000), pass(3000)}, netstat.PeerChallenges{Passed: 2}, netstat.PeerChallenges{Passed: 1, Failed: 2}},
	}
	o := newRecorder()
	o.remember("c", seenObject{}, false, view, []Check{{}, {}})
	for i, s := range steps {
		prev := o.seen["c"]
		o.countChallenges(prev, view, s.checks)
		o.remember("c", prev, true, view, s.checks)
		got := map[string]netstat.PeerChallenges{}
		for _, p := range o.Stats().Challenges {
			got[string(p.Peer)] = netstat.PeerChallenges{Passed: p.Passed, Failed: p.Failed, ConsecutiveFailures: p.ConsecutiveFailures}
		}
		if got[peerA] != s.wantA || got[peerB] != s.wantB {
			t.Errorf("step %d: counted A %+v, B %+v; want %+v, %+v", i, got[peerA], got[peerB], s.wantA, s.wantB)
		}
	}
	for _, p := range o.Stats().Challenges {
		if string(p.Peer) == peerB && (p.Operator != "op-b" || p.Region != "us") {
			t.Errorf("B counted as %s/%s, want op-b/us", p.Operator, p.Region)
		}
	}
}

// fakeSource serves views from a map.
type fakeSource struct {
	mu    sync.Mutex
	views map[string]netstat.ObjectView // guarded by mu
}

func (f *fakeSource) set(v netstat.ObjectView) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.views[v.CID] = v
}

func (f *fakeSource) Look(_ context.Context, id string) (netstat.ObjectView, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.views[id]
	return v, ok
}

func (f *fakeSource) Checks(_ string, holders []netstat.HolderView) []Check {
	return make([]Check, len(holders))
}

func (f *fakeSource) PlacePeers(evs []netstat.Event) []netstat.Event {
	for i := range evs {
		if evs[i].Peer != "" {
			evs[i].Operator = "op-placed"
		}
	}
	return evs
}

var _ Source = (*fakeSource)(nil)

// TestRun: the baseline yields no events; a reported change, an object
// added afterwards and a peer joining do, with the peer placed.
func TestRun(t *testing.T) {
	log, err := eventlog.Open(t.TempDir(), eventlog.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	src := &fakeSource{views: map[string]netstat.ObjectView{
		"old": {CID: "old", State: netstat.StateReplicating, Copies: 1, Target: 2},
	}}
	var o Observer
	o.Open(log, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); o.Run(ctx, src, []string{"old"}) }()
	defer func() { cancel(); <-done }()

	sub := log.Follow(ctx, netstat.Cursor{})
	defer sub.Close()
	var evs []netstat.Event
	timeout := time.After(10 * time.Second)
	waitFor := func(n int, what string) {
		t.Helper()
		for len(evs) < n {
			select {
			case ev, ok := <-sub.Events():
				if !ok {
					t.Fatalf("the log's subscription ended: %v", sub.Err())
				}
				evs = append(evs, ev)
			case <-timeout:
				t.Fatalf("after 10 s the log holds %v, want %s", evs, what)
			}
		}
	}
	// The peer's event is appended after the baseline: the changes below
	// are measured against it.
	o.PeerOnline(peerA, true, time.Unix(1_700_000_000, 0))
	waitFor(1, "peer_joined")
	src.set(netstat.ObjectView{CID: "new", State: netstat.StateLocalOnly, Target: 2})
	src.set(netstat.ObjectView{CID: "old", State: netstat.StateBackedUp, Copies: 2, Target: 2})
	o.Changed("new", "old")
	// Four, not three: "old" brings state_changed and target_reached, in
	// whichever order the two objects are looked at.
	waitFor(4, "object_added, state_changed and target_reached after peer_joined")
	has := func(typ netstat.EventType, obj, peer, op string) bool {
		return slices.ContainsFunc(evs, func(ev netstat.Event) bool {
			return ev.Type == typ && ev.Object == obj && ev.Peer == peer && ev.Operator == op
		})
	}
	if !has(netstat.EventObjectAdded, "new", "", "") || !has(netstat.EventStateChanged, "old", "", "") ||
		!has(netstat.EventPeerJoined, "", peerA, "op-placed") {
		t.Errorf("log %v: want new added, old changed state and %s joined (placed)", evs, peerA)
	}
	if has(netstat.EventObjectAdded, "old", "", "") {
		t.Errorf("the baseline object was reported added: %v", evs)
	}
}
