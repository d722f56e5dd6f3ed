package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/api"
	"github.com/cairn-fed/cairn/node/repo"
)

// hostileSettings are the replication test's fast periods, with a little
// more slack for challenges on a loaded machine and a trash window long
// enough for the owner to undelete during the suite.
func hostileSettings() map[string]string {
	s := maps.Clone(fastReplication)
	s["challenge_interval"] = `"2s"`
	s["challenge_timeout"] = `"2s"`
	s["proof_freshness"] = `"6s"`
	s["trash_window"] = `"10m"`
	s["retention"] = `"1h"`
	s["stall_timeout"] = `"2s"`
	// A's catalog settles within a second of A's last change, before the
	// suite takes the state attacks must not change.
	s["catalog.interval"] = `"200ms"`
	// New catalog versions may be placed on M first, which never fetches:
	// the next honest member in line takes over within seconds.
	s["repair_escalation"] = `"2s"`
	// The flood attack sends 5,000 records of made-up objects; a bound below
	// that shows it holds without a flood the size of the default (100,000).
	s["max_entries_per_member"] = strconv.Itoa(hostileFloodBound)
	return s
}

// hostileWindow is how long the suite watches the honest nodes after an
// attack: longer than proof_freshness plus repair_grace, so a copy that
// stops being verified, and the repair it triggers, show within it.
const hostileWindow = 9 * time.Second

// honestNode is an honest daemon of the hostile suite; its log survives
// restarts.
type honestNode struct {
	*replNode
	name string
	past []string // output of its earlier processes
}

func (h *honestNode) log() string { return strings.Join(h.past, "") + h.d.output() }

// restart stops the daemon with SIGTERM and starts it again.
func (h *honestNode) restart(t testing.TB) {
	t.Helper()
	h.d.stop()
	h.past = append(h.past, h.d.output())
	h.replNode.restart(t)
}

// hostileFed is three honest members of three operators (A owns every
// object, B and C hold copies) and the hostile fourth member M.
type hostileFed struct {
	a, b, c *honestNode
	honest  []*honestNode
	m       *attacker
	objs    map[string]string // attack name -> CID of its own object, added by A
	// top is the whole suite's test: daemons restarted during an attack
	// belong to it, or they would stop when the attack's subtest ends.
	top   *testing.T
	tries int // identities generated to sort M first
}

// hostileAttacks name the attacks; each gets an object of its own, so one
// attack's damage does not hide another's.
var hostileAttacks = []string{"blocks", "owner", "target", "flood", "challenge", "forged", "replay"}

func setupHostile(t *testing.T) *hostileFed {
	s := hostileSettings()
	f := &hostileFed{objs: map[string]string{}, top: t}
	f.a = &honestNode{replNode: startReplNode(t, "a", "library", "eu-west", s), name: "A"}
	f.b = &honestNode{replNode: startReplNode(t, "b", "school", "eu-west", s), name: "B"}
	f.c = &honestNode{replNode: startReplNode(t, "c", "clinic", "us-east", s), name: "C"}
	f.honest = []*honestNode{f.a, f.b, f.c}
	federate(t, []*replNode{f.a.replNode, f.b.replNode, f.c.replNode})
	for _, name := range hostileAttacks {
		src := filepath.Join(t.TempDir(), name+".bin")
		if err := os.WriteFile(src, sampleData(t, 2<<20, name), 0o600); err != nil {
			t.Fatal(err)
		}
		var added node.AddResult
		cairnJSON(t, f.a.repo, &added, "add", src, "--replicas", "3")
		f.objs[name] = added.CID
	}
	for _, obj := range f.objs {
		waitFor(t, 60*time.Second, "every object backed up on A, B and C", backedUp(t, f.a.replNode, obj, ""))
	}
	f.settleCatalog(t)
	// M is admitted after the objects are placed, with an identity ground
	// so that its peer ID sorts before every honest member's.
	priv, tries := grindIdentity(t, f.a.id.PeerID, f.b.id.PeerID, f.c.id.PeerID)
	f.tries = tries
	mID, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	mRepo := initRepoWithIdentity(t, "m", priv)
	var tok api.TokenAnswer
	cairnJSON(t, f.a.repo, &tok, "federation", "admit", mID.String(), "--operator", "mallory", "--region", "us-east")
	for _, n := range f.honest {
		waitFor(t, 20*time.Second, "every honest member to see M admitted", func() bool { return len(members(t, n.fedNode)) == 4 })
	}
	f.m = newAttacker(t, mRepo)
	for _, n := range f.honest {
		f.m.connect(n.fedNode)
	}
	f.m.waitJoined(f.a.fedNode, f.b.fedNode, f.c.fedNode)
	return f
}

// aspects is what an attack must not change, by "node aspect".
type aspects map[string]string

// snapshot records, on every honest node: its object list, its view of
// obj (target, copies, state, the honest holders and their states, any
// deletion), the block files on its disk, and how often its log shows a
// repair fetch, a failed challenge or a lost copy of obj.
func (f *hostileFed) snapshot(t testing.TB, obj string) aspects {
	t.Helper()
	s := aspects{}
	for _, n := range f.honest {
		s[n.name+" ls"] = lsLine(t, n)
		s[n.name+" status"] = f.statusLine(t, n, obj)
		s[n.name+" blocks"] = blockFiles(t, n.repo)
		log := n.log()
		s[n.name+" repair fetches"] = fmt.Sprint(countLogLines(log, `msg="repair: fetching a copy"`, "cid="+obj))
		failed := countLogLines(log, `msg="holder failed a challenge"`, "cid="+obj) -
			countLogLines(log, `msg="holder failed a challenge"`, "cid="+obj, "peer="+f.m.id().String())
		s[n.name+" failed challenges of honest holders"] = fmt.Sprint(failed)
		s[n.name+" lost copies"] = fmt.Sprint(countLogLines(log, "dropping the copy", "cid="+obj))
	}
	return s
}

// diff lists the aspects that differ, as "aspect: before -> after".
func (s aspects) diff(after aspects) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(s)) {
		if s[k] != after[k] {
			out = append(out, fmt.Sprintf("%s: %s -> %s", k, s[k], after[k]))
		}
	}
	return out
}

// watch polls the honest nodes for hostileWindow and returns the first
// change from base it sees, or nil if nothing changed.
func (f *hostileFed) watch(t testing.TB, obj string, base aspects) []string {
	t.Helper()
	end := time.Now().Add(hostileWindow)
	for time.Now().Before(end) {
		if d := base.diff(f.snapshot(t, obj)); len(d) > 0 {
			return d
		}
	}
	return nil
}

func lsLine(t testing.TB, n *honestNode) string {
	t.Helper()
	var objs []node.ObjectInfo
	cairnJSON(t, n.repo, &objs, "ls")
	lines := make([]string, 0, len(objs))
	for _, o := range objs {
		lines = append(lines, fmt.Sprintf("%.16s…/%s/%q", o.ID, o.Role, o.Name))
	}
	slices.Sort(lines)
	return fmt.Sprintf("%d objects %v", len(objs), lines)
}

// statusLine is n's view of obj, without M's own line (M claiming a copy
// is the attack, not its effect) and without ages.
func (f *hostileFed) statusLine(t testing.TB, n *honestNode, obj string) string {
	t.Helper()
	v := objectStatus(t, n.replNode, obj)
	var holders []string
	for _, h := range v.Holders {
		if h.PeerID != f.m.id().String() {
			holders = append(holders, f.nameOf(h.PeerID)+":"+h.State)
		}
	}
	line := fmt.Sprintf("target %d, copies %d, %s, holders %v", v.Target, v.Copies, v.State, holders)
	if v.DeletionView != nil {
		line += fmt.Sprintf(", deleted on %d purged on %d", v.DeletedOn, v.PurgedOn)
	}
	return line
}

// mState is M's line in n's view of obj: "" when n does not list M.
func (f *hostileFed) mState(t testing.TB, n *honestNode, obj string) string {
	t.Helper()
	h, ok := findHolder(objectStatus(t, n.replNode, obj), f.m.id().String())
	if !ok {
		return ""
	}
	return h.State
}

func (f *hostileFed) nameOf(peerID string) string {
	for _, n := range f.honest {
		if n.id.PeerID == peerID {
			return n.name
		}
	}
	if peerID == f.m.id().String() {
		return "M"
	}
	return peerID
}

// blockFiles is the number of block files under a repository and a hash
// of their names, so that any block added or removed shows.
func blockFiles(t testing.TB, repoDir string) string {
	t.Helper()
	var names []string
	filepath.WalkDir(filepath.Join(repoDir, repo.BlocksDir), func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".blk") {
			names = append(names, filepath.Base(p))
		}
		return nil
	})
	slices.Sort(names)
	sum := sha256.Sum256([]byte(strings.Join(names, "\n")))
	return fmt.Sprintf("%d files (%s)", len(names), hex.EncodeToString(sum[:4]))
}

// countLogLines counts the lines of log that contain every one of parts.
func countLogLines(log string, parts ...string) int {
	n := 0
	for _, l := range strings.Split(log, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all && len(parts) > 0 {
			n++
		}
	}
	return n
}

// refusals lists, per honest node, the kinds of M's messages it logged a
// refusal of (the first refusal of each kind from each peer is logged).
func (f *hostileFed) refusals(from string) string {
	var out []string
	for _, n := range f.honest {
		var kinds []string
		for _, l := range strings.Split(n.log(), "\n") {
			if !strings.Contains(l, "refused a message") || !strings.Contains(l, "peer="+from) {
				continue
			}
			_, k, _ := strings.Cut(l, " kind=")
			k, _, _ = strings.Cut(k, " peer=")
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
		out = append(out, fmt.Sprintf("%s %v", n.name, kinds))
	}
	return strings.Join(out, ", ")
}

// eventually polls cond until it holds or timeout passes, and reports
// whether it held: for outcomes the test reports rather than waits on.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.After(timeout)
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for !cond() {
		select {
		case <-deadline:
			return false
		case <-poll.C:
		}
	}
	return true
}

// ownerRecord reports whether n lists obj as owned by it, with a name.
func ownerRecord(t testing.TB, n *honestNode, obj string) (string, bool) {
	t.Helper()
	var objs []node.ObjectInfo
	cairnJSON(t, n.repo, &objs, "ls")
	for _, o := range objs {
		if o.ID == obj {
			return fmt.Sprintf("%s %q", o.Role, o.Name), o.Role == node.RoleOwner && o.Name != ""
		}
	}
	return "no record", false
}

// restored reports whether every honest node sees obj live and backed up.
func (f *hostileFed) restored(t testing.TB, obj string) bool {
	for _, n := range f.honest {
		if v := objectStatus(t, n.replNode, obj); v.DeletionView != nil || v.State != netstat.StateBackedUp {
			return false
		}
	}
	return true
}

// settleCatalog waits until A's catalog has taken in A's own changes and
// its latest version is on B and C: a catalog version is an object B and
// C come to hold, which a snapshot taken earlier would count as damage.
func (f *hostileFed) settleCatalog(t testing.TB) {
	t.Helper()
	catalogSettled(t, f.a.replNode, 0)
	// Every version, not only the latest: an earlier one placed on M,
	// which never fetches, reaches C only after repair_escalation.
	waitFor(t, 60*time.Second, "every catalog version of A backed up", func() bool {
		var ov node.StatusOverview
		cairnJSON(t, f.a.repo, &ov, "status")
		for _, o := range ov.Objects {
			if strings.HasPrefix(o.Name, "(catalog version") && o.State != netstat.StateBackedUp {
				return false
			}
		}
		return true
	})
}
