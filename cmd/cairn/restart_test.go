package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
)

// restartReplication: the default challenge periods (a challenge a minute,
// proofs fresh for three), which a restart of seconds stays well within;
// repair_grace and reconnect_grace short, so a repair would show soon;
// and no release during the test, so a surplus copy would stay visible.
var restartReplication = map[string]string{
	"repair_grace":    `"2s"`,
	"reconnect_grace": `"5s"`,
	"release_grace":   `"1h"`,
	// The owners' catalogs settle before the snapshot, and a restart must
	// not write a version of its own.
	"catalog.interval": `"500ms"`,
}

// ignoredFields are the JSON fields left out when the outputs before and
// after the restart are compared, each honestly time- or process-dependent:
//   - as_of: when the answer was computed;
//   - last_seen, latency_ms: when a peer was last connected, and the round
//     trip measured on the current connection;
//   - addrs: each daemon listens on a fresh loopback port (tcp/0) when it
//     starts;
//   - verified_at, verified, age, summary's "verified ... ago": when the
//     latest challenge passed, which goes on while the test runs;
//   - last_fully_replicated_at: refreshed on every look at a backed-up object;
//   - challenges_passed, challenges_failed: counters of the daemon process;
//   - storage_free_bytes: the free space of the test machine's disk.
var ignoredFields = map[string]bool{
	"as_of": true, "last_seen": true, "latency_ms": true, "addrs": true,
	"verified_at": true, "verified": true, "age": true, "last_fully_replicated_at": true,
	"challenges_passed": true, "challenges_failed": true, "storage_free_bytes": true,
}

// cmdSnapshot is what a node's commands say, as comparable JSON values.
type cmdSnapshot map[string]any

// takeSnapshot runs each command with --json on n.
func takeSnapshot(t testing.TB, n *replNode) cmdSnapshot {
	t.Helper()
	out := cmdSnapshot{}
	for _, args := range [][]string{{"status"}, {"ls"}, {"peers"}, {"federation", "show"}, {"health"}} {
		var v any
		cairnJSON(t, n.repo, &v, args...)
		out[strings.Join(args, " ")] = scrub(v)
	}
	return out
}

// scrub drops ignoredFields and the time in status summaries.
func scrub(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k := range v {
			if ignoredFields[k] {
				delete(v, k)
			} else {
				v[k] = scrub(v[k])
			}
		}
		if s, ok := v["summary"].(string); ok {
			v["summary"], _, _ = strings.Cut(s, ", verified")
		}
	case []any:
		for i := range v {
			v[i] = scrub(v[i])
		}
	}
	return v
}

// diff lists the commands whose output differs between two snapshots.
func (s cmdSnapshot) diff(other cmdSnapshot) string {
	var b strings.Builder
	for k, v := range s {
		if !reflect.DeepEqual(v, other[k]) {
			was, _ := json.Marshal(v)
			now, _ := json.Marshal(other[k])
			fmt.Fprintf(&b, "%s:\n  before %s\n  after  %s\n", k, was, now)
		}
	}
	return b.String()
}

// repairsSince returns the repair_started events n logged after since.
func repairsSince(t *testing.T, n *replNode, since time.Time) []netstat.Event {
	t.Helper()
	var out []netstat.Event
	for _, l := range strings.Split(strings.TrimSpace(cairn(t, n.repo, "events", "--json")), "\n") {
		if l == "" {
			continue
		}
		e := decodeEvent(t, l)
		if e.Type == netstat.EventRepairStarted && e.At.After(since) {
			out = append(out, e)
		}
	}
	return out
}

// settled reports whether every node counts each object backed_up on 3
// copies and no object lists more holders claiming a copy than its target.
func settled(t testing.TB, nodes []*replNode, objs []string) bool {
	for _, n := range nodes {
		var ov node.StatusOverview
		cairnJSON(t, n.repo, &ov, "status")
		if ov.Tally.Count(netstat.StateBackedUp) != ov.Tally.Total() {
			return false
		}
	}
	for _, cid := range objs {
		for _, n := range nodes {
			v := objectStatus(t, n, cid)
			if v.State != netstat.StateBackedUp || v.Copies != v.Target || claimingHolders(v) > v.Target {
				return false
			}
		}
	}
	return true
}

func claimingHolders(v netstat.ObjectView) int {
	c := 0
	for _, h := range v.Holders {
		if h.State != "released" && h.State != "revoked" {
			c++
		}
	}
	return c
}

// allConnected reports whether every node has every other one connected.
func allConnected(t testing.TB, nodes []*replNode) bool {
	for _, n := range nodes {
		for _, m := range members(t, n.fedNode) {
			if !m.Self && !m.Connected {
				return false
			}
		}
	}
	return true
}

// TestFederationRestartIsANonEvent: four daemons of four operators hold
// several objects, backed up. Every daemon in turn gets SIGTERM, then each
// starts again;
// once they are reconnected, no repair has run, no object has more holders
// than its target, and status, ls, peers, federation show and health say
// what they said before (apart from ignoredFields).
func TestFederationRestartIsANonEvent(t *testing.T) {
	nodes := []*replNode{
		startReplNode(t, "library", "library", "eu-west", restartReplication),
		startReplNode(t, "school", "school", "eu-west", restartReplication),
		startReplNode(t, "clinic", "clinic", "us-east", restartReplication),
		startReplNode(t, "farm", "farm", "us-east", restartReplication),
	}
	federate(t, nodes)
	var objs []string
	for i, n := range nodes[:3] {
		src := filepath.Join(t.TempDir(), fmt.Sprintf("file-%d.txt", i))
		os.WriteFile(src, []byte(strings.Repeat(fmt.Sprintf("records of %s\n", n.operator), 5000)), 0o600)
		var added node.AddResult
		cairnJSON(t, n.repo, &added, "add", src, "--replicas", "3")
		objs = append(objs, added.CID)
	}
	waitFor(t, 60*time.Second, "every object backed_up on every node", func() bool { return settled(t, nodes, objs) })
	for _, n := range nodes[:3] {
		catalogSettled(t, n, 0)
	}
	waitFor(t, 60*time.Second, "every object backed_up on every node", func() bool { return settled(t, nodes, objs) })
	before := map[string]cmdSnapshot{}
	waitFor(t, 30*time.Second, "two snapshots in a row to agree", func() bool {
		stable := true
		for _, n := range nodes {
			s := takeSnapshot(t, n)
			stable = stable && s.diff(before[n.repo]) == ""
			before[n.repo] = s
		}
		return stable
	})

	for _, n := range nodes { // a daemon comes back on the port it had, as one with a fixed port does
		addr, _, _ := strings.Cut(n.id.Addrs[0], "/p2p/")
		setConfig(t, n.repo, map[string]string{"swarm.listen": fmt.Sprintf("[%q]", addr)})
	}
	// One daemon after another, as an operator restarting machines in turn
	// does: each running node sees the stopped ones go before its own turn.
	stopped := time.Now()
	for i, n := range nodes {
		n.d.stop() // SIGTERM to the daemon's own PID
		for _, m := range nodes[i+1:] {
			waitFor(t, 20*time.Second, m.operator+" to see "+n.operator+" go", func() bool {
				return !members(t, m.fedNode)[n.id.PeerID].Connected
			})
		}
	}
	t.Logf("all four stopped in %s", time.Since(stopped).Round(time.Millisecond))
	started := time.Now()
	for _, n := range nodes {
		n.restart(t)
	}
	t.Logf("all four started again in %s", time.Since(started).Round(time.Millisecond))

	waitFor(t, 60*time.Second, "every node to reconnect to every other", func() bool { return allConnected(t, nodes) })
	t.Logf("reconnected %s after the first start", time.Since(started).Round(time.Millisecond))
	waitFor(t, 60*time.Second, "every object backed_up on every node again", func() bool { return settled(t, nodes, objs) })
	t.Logf("settled %s after the first start", time.Since(started).Round(time.Millisecond))
	// A repair would start once reconnect_grace (5 s) and repair_grace
	// (3 s) passed after a start: look until well past that, for as long
	// as the outputs keep matching.
	var mismatch string
	waitFor(t, 60*time.Second, "the outputs to match, past the repair hold", func() bool {
		mismatch = ""
		for _, n := range nodes {
			mismatch += takeSnapshot(t, n).diff(before[n.repo])
		}
		return mismatch == "" && time.Since(started) > 12*time.Second
	})
	for _, n := range nodes {
		if r := repairsSince(t, n, stopped); len(r) != 0 {
			t.Errorf("%s started %d repairs after the restart: %+v", n.operator, len(r), r)
		}
		addr, token := repoAPI(t, n.repo)
		_, body := scrape(t, addr, token)
		if got := grepLines(body, "cairn_repairs_total"); strings.Contains(got, "} ") && !allZero(got) {
			t.Errorf("%s: repairs since the restart:\n%s", n.operator, got)
		}
	}
	if !settled(t, nodes, objs) {
		t.Errorf("not every object backed_up on 3 holders at the end")
	}
}

// allZero reports whether every sample in lines has the value 0.
func allZero(lines string) bool {
	for _, l := range strings.Split(lines, "\n") {
		if l != "" && !strings.HasSuffix(l, " 0") {
			return false
		}
	}
	return true
}

// TestAddWhileAMemberIsLost: the founder is killed and its repository
// deleted; it stays on the roster. Objects added then reach backed_up on
// the three members left, with repair_escalation set to 10 min: placement
// does not wait for the lost member, even for objects that rank it among
// their first holders.
func TestAddWhileAMemberIsLost(t *testing.T) {
	settings := map[string]string{"repair_escalation": `"10m"`, "release_grace": `"1h"`}
	nodes := []*replNode{
		startReplNode(t, "founder", "founder", "eu-west", settings),
		startReplNode(t, "school", "school", "eu-west", settings),
		startReplNode(t, "clinic", "clinic", "us-east", settings),
		startReplNode(t, "farm", "farm", "us-east", settings),
	}
	federate(t, nodes)
	founder, owner := nodes[0], nodes[1]
	founder.d.kill()
	if err := os.RemoveAll(founder.repo); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes[1:] {
		waitFor(t, 20*time.Second, n.operator+" to see the founder go", func() bool {
			return !members(t, n.fedNode)[founder.id.PeerID].Connected
		})
	}
	for i := range 3 {
		src := filepath.Join(t.TempDir(), fmt.Sprintf("late-%d.txt", i))
		os.WriteFile(src, []byte(strings.Repeat(fmt.Sprintf("added while the founder is lost %d\n", i), 2000)), 0o600)
		var added node.AddResult
		cairnJSON(t, owner.repo, &added, "add", src, "--replicas", "3")
		start := time.Now()
		waitFor(t, 60*time.Second, "backed_up without the founder", func() bool {
			v := objectStatus(t, owner, added.CID)
			_, onFounder := verifiedHolders(v)[founder.id.PeerID]
			return v.State == netstat.StateBackedUp && v.Copies == 3 && !onFounder
		})
		t.Logf("object %d backed_up %s after its add", i, time.Since(start).Round(time.Millisecond))
	}
}
