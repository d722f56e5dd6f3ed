package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/repo"
)

// fastReplication shortens every replication period so that the tests take
// seconds: challenges every second, repair after one second below target,
// and no releases during a test.
var fastReplication = map[string]string{
	"challenge_interval": `"1s"`,
	"challenge_timeout":  `"1s"`,
	"proof_freshness":    `"3s"`,
	"repair_grace":       `"1s"`,
	"release_grace":      `"1h"`,
	// No catalog version within a test's minutes unless it asks for one
	// (the first waits an interval after the start): catalog versions are
	// objects, which the counts of most tests would see.
	"catalog.interval": `"1h"`,
}

// replNode is a daemon of a replication test with its place in the roster.
type replNode struct {
	*fedNode
	operator, region string
}

func startReplNode(t testing.TB, name, operator, region string, settings map[string]string) *replNode {
	t.Helper()
	n := &replNode{fedNode: &fedNode{repo: initRepo(t, name)}, operator: operator, region: region}
	setConfig(t, n.repo, settings)
	n.d = startDaemon(t, n.repo)
	cairnJSON(t, n.repo, &n.id, "id")
	return n
}

// setConfig replaces the value of each named field in the repository's
// config.toml. A name may be qualified by its section ("swarm.listen");
// an unqualified one is replaced in every section that has it (most
// field names are unique across sections).
func setConfig(t testing.TB, repoDir string, settings map[string]string) {
	t.Helper()
	path := filepath.Join(repoDir, repo.ConfigFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	section := ""
	for i, l := range lines {
		if strings.HasPrefix(l, "[") {
			section = strings.Trim(strings.TrimSpace(l), "[]")
		}
		key, _, ok := strings.Cut(l, " = ")
		if !ok {
			continue
		}
		if v := settings[section+"."+key]; v != "" {
			lines[i] = key + " = " + v
		} else if v := settings[key]; v != "" {
			lines[i] = key + " = " + v
		}
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
}

// restart starts the daemon of n again after it stopped.
func (n *replNode) restart(t testing.TB) {
	t.Helper()
	n.d = startDaemon(t, n.repo)
	cairnJSON(t, n.repo, &n.id, "id")
}

// federate makes the first node found a federation, admits the others and
// connects every pair.
func federate(t testing.TB, nodes []*replNode) {
	t.Helper()
	cairn(t, nodes[0].repo, "federation", "create", "replication-test", "--operator", nodes[0].operator, "--region", nodes[0].region)
	for _, n := range nodes[1:] {
		admit(t, nodes[0].fedNode, n.fedNode, n.operator, n.region)
	}
	for i, a := range nodes {
		for _, b := range nodes[i+1:] {
			cairn(t, a.repo, "connect", b.id.Addrs[0])
		}
	}
	for _, n := range nodes {
		waitFor(t, 20*time.Second, "every member to see the whole roster", func() bool { return len(members(t, n.fedNode)) == len(nodes) })
	}
}

func objectStatus(t testing.TB, n *replNode, cid string) netstat.ObjectView {
	t.Helper()
	var v netstat.ObjectView
	cairnJSON(t, n.repo, &v, "status", cid)
	return v
}

// verifiedHolders returns the verified holders of v by peer ID.
func verifiedHolders(v netstat.ObjectView) map[string]netstat.HolderView {
	out := map[string]netstat.HolderView{}
	for _, h := range v.Holders {
		if h.State == "verified" {
			out[h.PeerID] = h
		}
	}
	return out
}

// checkCounting asserts that copies equals the number of distinct
// operators among verified holders: two nodes of one operator count once.
func checkCounting(t testing.TB, v netstat.ObjectView) {
	t.Helper()
	ops := map[string]bool{}
	for _, h := range verifiedHolders(v) {
		ops[h.Operator] = true
	}
	if v.Copies != len(ops) {
		t.Errorf("copies = %d, but verified holders are on %d distinct operators: %+v", v.Copies, len(ops), v.Holders)
	}
}

func backedUp(t testing.TB, owner *replNode, cid string, exclude string) func() bool {
	return func() bool { return backedUpWithout(t, objectStatus(t, owner, cid), exclude) }
}

// backedUpWithout reports whether v is backed_up at 3 copies or more
// without the holder exclude, checking the counting rule on the way. More
// than 3 is backed up too: a copy placed while a holder was failing (one
// whose blocks were deleted fetches them back, and under load another
// candidate may fetch first) is a surplus, released after ReleaseGrace.
func backedUpWithout(t testing.TB, v netstat.ObjectView, exclude string) bool {
	checkCounting(t, v)
	_, excluded := verifiedHolders(v)[exclude]
	return v.State == netstat.StateBackedUp && v.Copies >= 3 && !excluded
}

// TestReplicationEndToEnd: five daemons of four operators in two regions
// (two run by the same operator). An object added with --replicas 3 reaches
// backed_up on three distinct operators; a holder killed with SIGKILL drops
// the count and repair restores it elsewhere; a holder whose blocks are
// deleted behind its back fails its next challenge and is repaired too.
func TestReplicationEndToEnd(t *testing.T) {
	nodes := []*replNode{
		startReplNode(t, "library", "library", "eu-west", fastReplication),
		startReplNode(t, "school", "school", "eu-west", fastReplication),
		startReplNode(t, "clinic-1", "clinic", "us-east", fastReplication),
		startReplNode(t, "clinic-2", "clinic", "us-east", fastReplication),
		startReplNode(t, "farm", "farm", "us-east", fastReplication),
	}
	federate(t, nodes)
	owner := nodes[0]
	byPeer := map[string]*replNode{}
	for _, n := range nodes {
		byPeer[n.id.PeerID] = n
	}

	src := filepath.Join(t.TempDir(), "records.txt")
	os.WriteFile(src, []byte(strings.Repeat("patient records, very important\n", 20000)), 0o600)
	var added node.AddResult
	cairnJSON(t, owner.repo, &added, "add", src, "--replicas", "3")
	start := time.Now()
	waitFor(t, 30*time.Second, "backed_up with 3 copies", backedUp(t, owner, added.CID, ""))
	t.Logf("add returned to backed_up: %s", time.Since(start).Round(time.Millisecond))
	v := objectStatus(t, owner, added.CID)
	if v.Target != 3 || !v.SafeOffline || v.LastFullyReplicatedAt == nil || v.Regions < 2 {
		t.Errorf("status %+v: want target 3, safe_offline, last_fully_replicated_at set, 2 regions", v)
	}
	if human := cairn(t, owner.repo, "status", added.CID); !strings.Contains(human, "3 copies on 3 operators") {
		t.Errorf("human status %q lacks \"3 copies on 3 operators\"", human)
	}

	victim := pickRemoteHolder(t, objectStatus(t, owner, added.CID), byPeer)
	t.Run("SIGKILL of a holder is repaired", func(t *testing.T) {
		victim.d.kill()
		killed := time.Now()
		waitFor(t, 10*time.Second, "copies to drop", func() bool { return objectStatus(t, owner, added.CID).Copies < 3 })
		t.Logf("SIGKILL to copies dropping: %s", time.Since(killed).Round(time.Millisecond))
		waitFor(t, 30*time.Second, "repair to restore backed_up", backedUp(t, owner, added.CID, victim.id.PeerID))
		t.Logf("SIGKILL to backed_up again: %s", time.Since(killed).Round(time.Millisecond))
		faultRow(t, "a holder killed with SIGKILL: time until backed_up again on another operator (repair_grace 1 s)", time.Since(killed).Round(100*time.Millisecond).String(), "repair")
	})

	t.Run("blocks deleted behind a holder's back are detected and repaired", func(t *testing.T) {
		holder := pickRemoteHolder(t, objectStatus(t, owner, added.CID), byPeer)
		if n := removeBlocks(t, holder.repo); n == 0 {
			t.Fatalf("no block files found under %s", holder.repo)
		}
		// Caught: the owner stops counting the copy, or the holder, asked
		// for blocks it no longer has, drops its copy and, the best
		// candidate to repair it, fetches it back (its block files are
		// there again: nothing else writes them) faster than a poll.
		waitFor(t, 10*time.Second, "the challenge to catch the deleted blocks", func() bool {
			h, ok := findHolder(objectStatus(t, owner, added.CID), holder.id.PeerID)
			return !ok || h.State != "verified" || countBlocks(t, filepath.Join(holder.repo, repo.BlocksDir)) > 0
		})
		defer func() {
			if t.Failed() {
				v := objectStatus(t, owner, added.CID)
				t.Logf("the owner's view: %s, %d copies, %q", v.State, v.Copies, v.Text)
				for _, h := range v.Holders {
					t.Logf("  holder %s (%s): %s %q verified %v checked %v", h.PeerID, h.Operator, h.State, h.Reason, h.VerifiedAt, h.CheckedAt)
				}
				t.Logf("the holder whose blocks were deleted: %s (%s); blocks now %d", holder.id.PeerID, holder.operator, countBlocks(t, filepath.Join(holder.repo, repo.BlocksDir)))
			}
		}()
		waitFor(t, 30*time.Second, "repair to restore backed_up", backedUp(t, owner, added.CID, victim.id.PeerID))
		faultRow(t, "a holder's blocks deleted behind its back: caught by a challenge and repaired", "yes", "yes")
	})
}

func pickRemoteHolder(t testing.TB, v netstat.ObjectView, byPeer map[string]*replNode) *replNode {
	t.Helper()
	for _, h := range v.Holders {
		if h.State == "verified" && !h.Local && !h.Owner {
			return byPeer[h.PeerID]
		}
	}
	t.Fatalf("no verified remote holder in %+v", v.Holders)
	return nil
}

func findHolder(v netstat.ObjectView, peerID string) (netstat.HolderView, bool) {
	for _, h := range v.Holders {
		if h.PeerID == peerID {
			return h, true
		}
	}
	return netstat.HolderView{}, false
}

// removeBlocks deletes every block file of a repository, as a failing disk
// or a careless administrator would.
func removeBlocks(t testing.TB, repoDir string) int {
	t.Helper()
	var removed int
	filepath.WalkDir(filepath.Join(repoDir, repo.BlocksDir), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".blk") && os.Remove(p) == nil {
			removed++
		}
		return nil
	})
	return removed
}

// TestLedgerAntiEntropy: A syncs with B and goes offline; C, which A never
// spoke to, adds an object and syncs with B; when A returns and connects
// to B only, it learns from B that C holds the object.
func TestLedgerAntiEntropy(t *testing.T) {
	founder := startReplNode(t, "founder", "hq", "eu", nil)
	a := startReplNode(t, "a", "op-a", "eu", nil)
	b := startReplNode(t, "b", "op-b", "eu", nil)
	c := startReplNode(t, "c", "op-c", "us", nil)
	cairn(t, founder.repo, "federation", "create", "abc", "--operator", "hq", "--region", "eu")
	for _, n := range []*replNode{a, b, c} {
		admit(t, founder.fedNode, n.fedNode, n.operator, n.region)
	}
	founder.d.stop() // from here on, only B passes anything on

	cairn(t, a.repo, "connect", b.id.Addrs[0])
	a.d.stop()

	src := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(src, []byte("held by C only"), 0o600)
	var added node.AddResult
	cairnJSON(t, c.repo, &added, "add", src, "--replicas", "1")
	cairn(t, c.repo, "connect", b.id.Addrs[0])
	waitFor(t, 10*time.Second, "B to learn that C holds the object", func() bool {
		out, err := cairnResult(t, b.repo, nil, "status", added.CID, "--json")
		return err == nil && strings.Contains(out, c.id.PeerID)
	})
	c.d.stop()

	a.restart(t)
	if out, err := cairnResult(t, a.repo, nil, "status", added.CID); err == nil {
		t.Fatalf("A knew of the object before syncing: %s", out)
	}
	cairn(t, a.repo, "connect", b.id.Addrs[0])
	waitFor(t, 10*time.Second, "A to learn from B that C holds the object", func() bool {
		out, err := cairnResult(t, a.repo, nil, "status", added.CID, "--json")
		return err == nil && strings.Contains(out, c.id.PeerID)
	})
}
