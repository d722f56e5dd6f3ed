package netstat

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/replication"
	"github.com/cairn-fed/cairn/tombstone"
)

func TestFlagFailing(t *testing.T) {
	v := testViewer(t)
	peers := []PeerChallenges{
		{Peer: "p3", Operator: "opC", Region: "us", Passed: 10, Failed: 3, ConsecutiveFailures: 3,
			FirstFailureAt: epoch.Add(-5 * time.Minute), LastReason: "digest mismatch"},
		{Peer: "p2", Operator: "opB", Passed: 40, Failed: 1, ConsecutiveFailures: 1},
		{Peer: "p1", Passed: 8, Failed: 2, ConsecutiveFailures: 2},
	}
	got := v.FlagFailing(peers, epoch)
	var lines []string
	for _, f := range got {
		lines = append(lines, f.String())
	}
	want := []string{
		"p1: failing challenges: failed 2 challenges in a row (8 passed, 2 failed in all)",
		"p3 (opC, us): failing challenges: failed 3 challenges in a row (10 passed, 3 failed in all), last: digest mismatch (started 5 min ago)",
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("flagged:\n got %q\nwant %q", lines, want)
	}
}

func TestFlagLaggards(t *testing.T) {
	v := testViewer(t)
	laggards := []tombstone.Laggard{
		{Object: "o1", Holder: "p5", DeletedAt: epoch.Add(-time.Hour)},
		{Object: "o2", Holder: "p5", DeletedAt: epoch.Add(-3 * time.Hour)},
		{Object: "o2", Holder: "p4", DeletedAt: epoch.Add(-3 * time.Hour)},
	}
	roster := map[replication.PeerID]replication.Member{"p5": {Peer: "p5", Operator: "opE", Region: "asia"}}
	got := v.FlagLaggards(laggards, roster, epoch)
	if len(got) != 2 {
		t.Fatalf("flagged %d peers, want 2: %+v", len(got), got)
	}
	want := "p5 (opE, asia): ignoring tombstones: has not acknowledged 2 deletions, the oldest issued 3 h ago (started 3 h ago)"
	if got[1].String() != want || got[1].Flag != FlagIgnoringTombstones || !got[1].Since.Equal(epoch.Add(-3*time.Hour)) {
		t.Errorf("p5 flag = %q (%+v), want %q", got[1].String(), got[1], want)
	}
	if got[0].PeerID != "p4" || got[0].Operator != "" {
		t.Errorf("p4 flag = %+v, want p4 with no operator", got[0])
	}
}

func TestFlagOverBound(t *testing.T) {
	v := testViewer(t)
	got := v.FlagOverBound([]PeerRefusals{
		{Peer: "p9", Operator: "mallory", Region: "us", Refused: 4003, Since: epoch.Add(-2 * time.Minute),
			Last: "replication: member is over its bound"},
		{Peer: "p2", Refused: 1, Since: epoch, Last: "rate limited"},
	}, epoch)
	var lines []string
	for _, f := range got {
		lines = append(lines, f.String())
	}
	want := []string{
		"p2: over bound: sent more than this node accepts from one member: 1 message refused, the latest: rate limited (started just now)",
		"p9 (mallory, us): over bound: sent more than this node accepts from one member: 4003 messages refused, the latest: replication: member is over its bound (started 2 min ago)",
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("flagged:\n got %q\nwant %q", lines, want)
	}
}

func TestHealthRendering(t *testing.T) {
	h := Health{Node: "p1", MembersOnline: 4, MembersTotal: 5, StorageUsed: 1288490189, StorageFree: 40802189312,
		ChallengesPassed: 1200, ChallengesFailed: 3, RepairQueue: 1, TombstonesPending: 2, RosterVersion: 7, AsOf: epoch}
	want := strings.Join([]string{
		"members: 4 of 5 online",
		"storage: 1.2 GiB used, 38.0 GiB free",
		"challenges: 1200 passed, 3 failed",
		"repair queue: 1 object",
		"tombstones pending acknowledgement: 2",
		"roster version: 7",
		"last restore drill: none yet (`cairn verify` runs one)",
		"flagged peers: none",
	}, "\n")
	if got := h.String(); got != want {
		t.Errorf("String():\n%s\nwant\n%s", got, want)
	}
	h.LastDrill = &DrillSummary{At: epoch, Objects: 10, Operators: []string{"library", "school"}}
	if got, want := h.LastDrill.String(), epoch.Format("2006-01-02 15:04 MST")+": 10 objects read back (blocks from library, school)"; got != want {
		t.Errorf("drill: %q, want %q", got, want)
	}
	h.LastDrill.Failures = []string{"bafyx: no other member sent a block"}
	if got := h.LastDrill.String(); !strings.Contains(got, "1 of 10 objects did NOT read back") || !strings.Contains(got, "\n    bafyx: no other member sent a block") {
		t.Errorf("drill with a failure: %q", got)
	}
	h.LastDrill = nil
	b, _ := json.Marshal(h)
	for _, k := range []string{`"members_online":4`, `"members_total":5`, `"storage_used_bytes":1288490189`, `"storage_free_bytes":40802189312`,
		`"challenges_passed":1200`, `"challenges_failed":3`, `"repair_queue":1`, `"tombstones_pending":2`, `"flagged":[]`, `"roster_version":7`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON lacks %s: %s", k, b)
		}
	}
	if got := (Health{}).String(); !strings.Contains(got, "roster version: 0 (this node belongs to no federation yet: see `cairn federation --help`)") {
		t.Errorf("String() outside a federation does not say so:\n%s", got)
	}
	h.Flagged = []FlaggedPeer{{PeerID: "p3", Flag: FlagFailingChallenges, Reason: "failed 2 challenges in a row"}}
	if got := h.String(); !strings.HasSuffix(got, "flagged peers: 1\n  p3: failing challenges: failed 2 challenges in a row") {
		t.Errorf("String() with a flagged peer ends %q", got[strings.LastIndex(got, "flagged"):])
	}
}

func TestBytes(t *testing.T) {
	tests := []struct {
		n    uint64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"},
		{5 << 20, "5.0 MiB"}, {1 << 40, "1.0 TiB"}, {1<<64 - 1, "16.0 EiB"},
	}
	for _, tt := range tests {
		if got := Bytes(tt.n); got != tt.want {
			t.Errorf("Bytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
