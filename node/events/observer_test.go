package events

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/netstat"
)

// TestQueueBound: the node's own events wait up to maxQueuedEvents; more
// are dropped and counted, and take hands both over once.
func TestQueueBound(t *testing.T) {
	for _, tc := range []struct {
		queued      int
		wantKept    int
		wantDropped int
	}{
		{0, 0, 0},
		{1, 1, 0},
		{maxQueuedEvents, maxQueuedEvents, 0},
		{maxQueuedEvents + 1, maxQueuedEvents, 1},
		{maxQueuedEvents + 250, maxQueuedEvents, 250},
	} {
		var o Observer
		for i := range tc.queued {
			o.Queue(netstat.Event{Type: netstat.EventRepairStarted, Object: fmt.Sprint(i)})
		}
		evs, objs, dropped := o.take(recordChunk)
		if len(evs) != tc.wantKept || dropped != tc.wantDropped || len(objs) != 0 {
			t.Errorf("%d queued: took %d events, %d objects, %d dropped; want %d, 0, %d",
				tc.queued, len(evs), len(objs), dropped, tc.wantKept, tc.wantDropped)
		}
		if tc.wantKept > 0 && evs[tc.wantKept-1].Object != fmt.Sprint(tc.wantKept-1) {
			t.Errorf("%d queued: last kept event is %q, want the first ones in order", tc.queued, evs[tc.wantKept-1].Object)
		}
		if evs, _, dropped := o.take(recordChunk); len(evs) != 0 || dropped != 0 {
			t.Errorf("%d queued: a second take got %d events, %d dropped; want none", tc.queued, len(evs), dropped)
		}
	}
}

// TestTakeBatches: objects reported any number of times are looked at
// once, at most max a take, until none is left.
func TestTakeBatches(t *testing.T) {
	for _, tc := range []struct {
		distinct, max int
		wantTakes     []int
	}{
		{0, 512, nil},
		{3, 512, []int{3}},
		{512, 512, []int{512}},
		{1200, 512, []int{512, 512, 176}},
		{5, 2, []int{2, 2, 1}},
	} {
		var o Observer
		for range 3 { // the same objects reported again, and through both calls
			ids := make([]string, tc.distinct)
			for i := range ids {
				ids[i] = fmt.Sprintf("obj%05d", i)
			}
			o.Changed(ids...)
		}
		got := map[string]int{}
		var takes []int
		for {
			_, objs, _ := o.take(tc.max)
			if len(objs) == 0 {
				break
			}
			takes = append(takes, len(objs))
			for _, id := range objs {
				got[id]++
			}
			if len(takes) > tc.distinct+1 {
				t.Fatalf("%d objects, max %d: take never empties the queue", tc.distinct, tc.max)
			}
		}
		if !slices.Equal(takes, tc.wantTakes) {
			t.Errorf("%d objects, max %d: takes of %v, want %v", tc.distinct, tc.max, takes, tc.wantTakes)
		}
		for id, n := range got {
			if n != 1 {
				t.Errorf("%s taken %d times, want once", id, n)
			}
		}
		if len(got) != tc.distinct {
			t.Errorf("%d objects reported, %d taken", tc.distinct, len(got))
		}
	}
}

// TestPeerOnlineQueuesChanges: only a change of a peer's presence is an
// event; a second connection or a second loss is not.
func TestPeerOnlineQueuesChanges(t *testing.T) {
	at := time.Unix(1_700_000_000, 0)
	var o Observer
	for _, step := range []struct {
		online bool
		want   string // "" for none
	}{
		{false, ""}, // never seen online: nothing left
		{true, "peer_joined"},
		{true, ""},
		{false, "peer_left"},
		{false, ""},
		{true, "peer_joined"},
	} {
		o.PeerOnline("12D3KooWPeer", step.online, at)
		evs, _, _ := o.take(recordChunk)
		var got string
		if len(evs) == 1 {
			got = evs[0].Type.String()
			if evs[0].Peer != "12D3KooWPeer" || !evs[0].At.Equal(at) {
				t.Errorf("event %+v: want peer 12D3KooWPeer at %s", evs[0], at)
			}
		}
		if len(evs) > 1 || got != step.want {
			t.Errorf("online %v: queued %v, want %q", step.online, evs, step.want)
		}
	}
}

// TestRepairFinished counts repairs by result and queues their events.
func TestRepairFinished(t *testing.T) {
	var o Observer
	at := time.Unix(1_700_000_000, 0)
	o.RepairStarted("obj", at)
	o.RepairFinished("obj", nil, at)
	o.RepairFinished("obj", fmt.Errorf("fetch obj: no provider"), at)
	evs, _, _ := o.take(recordChunk)
	var details []string
	for _, ev := range evs {
		details = append(details, ev.Type.String()+":"+ev.Detail)
	}
	want := []string{"repair_started:", "repair_finished:ok", "repair_finished:fetch obj: no provider"}
	if !slices.Equal(details, want) {
		t.Errorf("queued %q, want %q", details, want)
	}
	if s := o.Stats(); s.RepairsOK != 1 || s.RepairsFailed != 1 {
		t.Errorf("repairs ok %d, failed %d; want 1 and 1", s.RepairsOK, s.RepairsFailed)
	}
}
