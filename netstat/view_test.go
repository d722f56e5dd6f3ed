package netstat

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/replication"
	"github.com/cairn-fed/cairn/tombstone"
)

func TestObjectView(t *testing.T) {
	v := testViewer(t)
	tests := []struct {
		name    string
		in      ObjectInput
		state   State
		safe    bool
		summary string
	}{
		{"backed up", input(3, time.Hour, owner(), verified("p2", "opB", "eu", 12*time.Second), verified("p3", "opC", "us", 30*time.Second)),
			StateBackedUp, true, "3 copies on 3 operators in 2 regions, verified 30 s ago"},
		{"just added", input(3, time.Second, owner()),
			StateLocalOnly, false, "only on this node: not yet safe to go offline"},
		{"owner's copy seen from elsewhere", input(3, time.Hour, func() replication.HolderStatus {
			h := unverified("p1", "opA", "eu")
			h.Pinned = true
			return h
		}()), StateLocalOnly, false, "only on the owner's node: not yet replicated"},
		{"replicating", input(3, 2*time.Second, owner(), unverified("p2", "opB", "eu"), unverified("p3", "opC", "us")),
			StateReplicating, false, "replicating: 1 of 3 copies; 2 holders not verified yet; not yet safe to go offline"},
		{"replicating, one verified", input(3, 2*time.Second, owner(), verified("p2", "opB", "eu", time.Second), unverified("p3", "opC", "us")),
			StateReplicating, true, "replicating: 2 of 3 copies, verified just now; 1 holder not verified yet"},
		{"at risk after failure", withFull(input(3, time.Hour, owner(), verified("p2", "opB", "eu", 12*time.Second), failed("p3", "opC", "us", 3*time.Hour)), 2*time.Minute),
			StateAtRisk, true, "at risk: 2 of 3 copies, verified 12 s ago; last fully replicated 2 min ago"},
		{"same operator counts once", input(3, time.Hour, owner(), verified("p2", "opB", "eu", 12*time.Second), verified("p3", "opB", "us", 12*time.Second)),
			StateAtRisk, true, "at risk: 2 of 3 copies, verified 12 s ago"},
		{"lost", withFull(input(2, time.Hour, failed("p2", "opB", "eu", 2*time.Hour), failed("p3", "opC", "us", 3*time.Hour)), 2*time.Hour),
			StateLost, false, "lost: no verified copy on any node; last fully replicated 2 h ago"},
		{"deleting", withDeletion(input(3, time.Hour, owner(), verified("p2", "opB", "eu", time.Second)), 5, 4, 2,
			tombstone.Unconfirmed{Holder: "p5", LastSeen: epoch.Add(-2 * time.Hour)}),
			StateDeleting, true, "deleted on 4 of 5 holders; 1 holder has not confirmed, last seen 2 h ago"},
		{"deleting, two unconfirmed", withDeletion(input(3, time.Hour), 5, 3, 0,
			tombstone.Unconfirmed{Holder: "p4"}, tombstone.Unconfirmed{Holder: "p5", LastSeen: epoch.Add(-3 * time.Minute)}),
			StateDeleting, false, "deleted on 3 of 5 holders; 2 holders have not confirmed (last seen never, 3 min ago)"},
		{"deleting, purge pending", withDeletion(input(3, time.Hour), 3, 3, 1),
			StateDeleting, false, "deleted on 3 of 3 holders; blocks removed on 1"},
		{"deleted", withDeletion(input(3, time.Hour), 3, 3, 3),
			StateDeleted, false, "deleted on 3 of 3 holders; blocks removed everywhere"},
	}
	for _, tt := range tests {
		got, err := v.Object(tt.in, epoch)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got.State != tt.state || got.SafeOffline != tt.safe || got.Summary() != tt.summary || got.Text != tt.summary {
			t.Errorf("%s: got %s safe=%v %q, want %s safe=%v %q", tt.name, got.State, got.SafeOffline, got.Summary(), tt.state, tt.safe, tt.summary)
		}
	}
}

// The deletion line uses tombstone's words: both must agree.
func TestDeletionLineMatchesTombstone(t *testing.T) {
	v := testViewer(t)
	for _, un := range [][]tombstone.Unconfirmed{
		nil,
		{{Holder: "p5", LastSeen: epoch.Add(-2 * time.Hour)}},
		{{Holder: "p4"}},
		{{Holder: "p4", LastSeen: epoch.Add(-40 * time.Second)}, {Holder: "p5"}},
	} {
		in := withDeletion(input(3, time.Hour), 5, 5-len(un), 0, un...)
		got, err := v.Object(in, epoch)
		if err != nil {
			t.Fatal(err)
		}
		want := in.Deletion.Summary()
		if len(un) == 0 {
			want += "; blocks removed on 0"
		}
		if got.Summary() != want {
			t.Errorf("deletion line = %q, want tombstone's %q", got.Summary(), want)
		}
	}
}

func TestObjectNotFound(t *testing.T) {
	v := testViewer(t)
	_, err := v.Object(ObjectInput{Status: replication.ObjectStatus{Object: "bafynothing"}}, epoch)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Object(unknown) error = %v, want ErrNotFound", err)
	}
}

func TestHolderViews(t *testing.T) {
	v := testViewer(t)
	got, err := v.Object(input(3, time.Hour, owner(), verified("p2", "opB", "eu", 12*time.Second), failed("p3", "opC", "us", 3*time.Hour)), epoch)
	if err != nil {
		t.Fatal(err)
	}
	lastPass := epoch.Add(-3 * time.Hour)
	twelve := epoch.Add(-12 * time.Second)
	failedAt := *got.Holders[2].CheckedAt
	want := []HolderView{
		{PeerID: "p1", Operator: "opA", Region: "eu", State: "verified", Local: true, Owner: true},
		{PeerID: "p2", Operator: "opB", Region: "eu", State: "verified", VerifiedAt: &twelve, CheckedAt: &twelve, Age: "12 s ago"},
		{PeerID: "p3", Operator: "opC", Region: "us", State: "failed", VerifiedAt: &lastPass, CheckedAt: &failedAt, Age: "3 h ago",
			Stale: true, Reason: "digest mismatch"},
	}
	if !reflect.DeepEqual(got.Holders, want) {
		t.Errorf("holders = %+v\nwant %+v", got.Holders, want)
	}
}

// TestObjectJSON checks the field names issue 4 and issue 6 promise.
func TestObjectJSON(t *testing.T) {
	v := testViewer(t)
	in := withDeletion(input(3, time.Hour, owner(), verified("p2", "opB", "eu", time.Second)), 2, 1, 0,
		tombstone.Unconfirmed{Holder: "p2", LastSeen: epoch})
	ov, err := v.Object(in, epoch)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	b, _ := json.Marshal(ov)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"cid", "target", "copies", "regions", "holders", "state", "safe_offline",
		"last_fully_replicated_at", "deleted_on", "holders_at_deletion", "summary"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	holder := m["holders"].([]any)[1].(map[string]any)
	keys := slices.Collect(func(yield func(string) bool) {
		for k := range holder {
			yield(k)
		}
	})
	sort.Strings(keys)
	want := []string{"age", "checked_at", "local", "operator", "owner", "peer_id", "reason", "region", "stale", "state", "verified_at"}
	if !slices.Equal(keys, want) {
		t.Errorf("holder JSON keys = %v, want %v", keys, want)
	}
	if m["state"] != "deleting" {
		t.Errorf("state = %v, want deleting", m["state"])
	}
	var back ObjectView
	if err := json.Unmarshal(b, &back); err != nil || back.State != ov.State || back.DeletedOn != 1 {
		t.Errorf("decode = %+v, %v; want state %s deleted_on 1", back, err, ov.State)
	}
}

func TestLiveObjectJSONHasNoDeletion(t *testing.T) {
	v := testViewer(t)
	ov, err := v.Object(input(3, time.Hour, owner()), epoch)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(ov)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if _, ok := m["deleted_on"]; ok {
		t.Errorf("live object JSON has deleted_on: %s", b)
	}
	if m["last_fully_replicated_at"] != nil || m["verified_at"] != nil {
		t.Errorf("never-verified times = %v, %v; want null", m["last_fully_replicated_at"], m["verified_at"])
	}
}

func TestByRegion(t *testing.T) {
	v := testViewer(t)
	ov, err := v.Object(input(3, time.Hour, owner(), verified("p2", "opB", "eu", time.Second),
		verified("p3", "opB", "eu", time.Second), verified("p4", "opC", "us", time.Second)), epoch)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range ov.ByRegion() {
		for _, o := range r.Operators {
			for _, h := range o.Holders {
				got = append(got, r.Region+"/"+o.Operator+"/"+h.PeerID)
			}
		}
	}
	want := []string{"eu/opA/p1", "eu/opB/p2", "eu/opB/p3", "us/opC/p4"}
	if !slices.Equal(got, want) {
		t.Errorf("ByRegion = %v, want %v", got, want)
	}
	if n := len(ov.ByRegion()); n != 2 {
		t.Errorf("regions = %d, want 2", n)
	}
}

func TestFactsFromInput(t *testing.T) {
	v := testViewer(t)
	tests := []struct {
		name string
		in   ObjectInput
		want Facts
	}{
		{"owner and pending", input(3, time.Second, owner(), unverified("p2", "opB", "eu")),
			Facts{Target: 3, Copies: 1, OwnerHolds: true, OthersHold: true, Pending: true}},
		{"released and revoked do not claim", input(3, time.Hour, owner(),
			replication.HolderStatus{Peer: "p2", State: replication.HolderReleased},
			replication.HolderStatus{Peer: "p3", State: replication.HolderRevoked}),
			Facts{Target: 3, Copies: 1, OwnerHolds: true, PastGrace: true}},
		{"unknown first seen is past grace", ObjectInput{Status: replication.ObjectStatus{Known: true, Target: 2}},
			Facts{Target: 2, PastGrace: true}},
	}
	for _, tt := range tests {
		if got := v.Facts(tt.in, epoch); got != tt.want {
			t.Errorf("%s: Facts = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
