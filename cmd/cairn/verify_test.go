package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/node"
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
