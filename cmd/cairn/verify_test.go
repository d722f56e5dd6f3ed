package main

import (
	"encoding/json"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/repo"
)

// TestVerifyReadsBackFromTheOtherMember: `cairn verify` on the owner's
// node reads its object back from the other member and says who sent it,
// and `cairn health` and /metrics show the drill; a capability and --all
// together are refused.
func TestVerifyReadsBackFromTheOtherMember(t *testing.T) {
	nodes := []*replNode{
		startReplNode(t, "owner", "library", "eu-west", fastReplication),
		startReplNode(t, "holder", "school", "us-east", fastReplication),
	}
	federate(t, nodes)
	src := filepath.Join(t.TempDir(), "minutes.txt")
	os.WriteFile(src, []byte(strings.Repeat("minutes of the meeting\n", 50000)), 0o600)
	var added node.AddResult
	cairnJSON(t, nodes[0].repo, &added, "add", "--replicas", "2", src)
	waitFor(t, 30*time.Second, "the copy on the other member", func() bool { return objectStatus(t, nodes[0], added.CID).Copies == 2 })

	out, err := cairnResult(t, nodes[0].repo, nil, "verify")
	if err != nil || !strings.Contains(out, "ok    minutes.txt") || !strings.Contains(out, "from school") || !strings.Contains(out, "1 read back, 0 failed") {
		t.Fatalf("cairn verify: %v\n%s", err, out)
	}
	if out := cairn(t, nodes[0].repo, "health"); !strings.Contains(out, "last restore drill: ") || !strings.Contains(out, "1 object read back (blocks from school)") {
		t.Errorf("cairn health after a drill does not show it:\n%s", out)
	}
	addr, token := repoAPI(t, nodes[0].repo)
	if _, body := scrape(t, addr, token); sample(body, `cairn_drill_last_objects{result="passed"}`) != 1 || sample(body, "cairn_drill_last_timestamp_seconds") <= 0 {
		t.Errorf("/metrics after a drill of one object lacks it")
	}
	if out, err := cairnResult(t, nodes[0].repo, nil, "verify", "--all", added.Capability); err == nil {
		t.Errorf("verify with a capability and --all was accepted:\n%s", out)
	}
}

// TestDrillCatchesATamperedHolder: of two holders, one has every block
// file altered behind its daemon's back. The drill's read still succeeds
// (the other holder sends what it needs), but each holder is asked to
// prove its copy: the drill fails naming the tampered holder's operator,
// says the other's copy is intact, and the object turns at_risk.
func TestDrillCatchesATamperedHolder(t *testing.T) {
	settings := maps.Clone(fastReplication)
	// Copies are checked when they arrive; no routine round comes before
	// the drill to find the damage first.
	settings["challenge_interval"], settings["challenge_timeout"], settings["proof_freshness"] = `"1h"`, `"10s"`, `"3h"`
	nodes := []*replNode{
		startReplNode(t, "owner", "library", "eu-west", settings),
		startReplNode(t, "good", "school", "us-east", settings),
		startReplNode(t, "tampered", "clinic", "us-east", settings),
	}
	federate(t, nodes)
	// More blocks than one challenge item may ask for (64).
	data := make([]byte, 48<<20)
	rand.NewChaCha8([32]byte{'l', 'e', 'd', 'g', 'e', 'r'}).Read(data)
	src := filepath.Join(t.TempDir(), "ledger.bin")
	os.WriteFile(src, data, 0o600)
	var added node.AddResult
	cairnJSON(t, nodes[0].repo, &added, "add", "--replicas", "3", src)
	waitFor(t, 30*time.Second, "three copies", backedUp(t, nodes[0], added.CID, ""))

	if n := alterBlocks(t, nodes[2].repo); n == 0 {
		t.Fatal("no block file to alter")
	}
	var d node.Drill
	out, err := cairnResult(t, nodes[0].repo, nil, "verify", added.Capability, "--json")
	if err == nil {
		t.Fatalf("verify passed with a tampered holder:\n%s", out)
	}
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &d); err != nil {
		t.Fatalf("verify --json: %v\n%s", err, out)
	}
	o := d.Objects[0]
	if d.Failed != 1 || !strings.Contains(o.Error, "clinic") {
		t.Fatalf("drill with a tampered holder: %+v; want a failure naming clinic", d)
	}
	for _, h := range o.Holders {
		if (h.Operator == "clinic") != h.Failed || (h.Operator == "school" && h.Result != "ok") || h.Blocks <= 64 {
			t.Errorf("proof of %s: %+v; want clinic failed, school ok, over more than 64 blocks", h.Operator, h)
		}
	}
	if v := objectStatus(t, nodes[0], added.CID); v.DrillFailure == "" {
		t.Errorf("status after the failed drill: %s, no drill failure", v.State)
	}
}

// alterBlocks flips a byte in the middle of every block file of a
// repository, as a failing disk or a dishonest operator would.
func alterBlocks(t testing.TB, repoDir string) int {
	t.Helper()
	altered := 0
	filepath.WalkDir(filepath.Join(repoDir, repo.BlocksDir), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".blk") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil || len(data) == 0 {
			return nil
		}
		data[len(data)/2] ^= 0xff
		if os.WriteFile(p, data, 0o600) == nil {
			altered++
		}
		return nil
	})
	return altered
}
