package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/api"
	"github.com/cairn-fed/cairn/node/repo"
)

// BenchmarkReplication measures, on four real daemons (four operators in
// two regions) with the default replication settings: how long a 256 MiB
// object takes from `cairn add` returning to backed_up at R=3, how soon the
// owner sees a SIGKILLed holder's copy drop, and how soon the object is
// backed_up again on another operator. Run it with
//
//	go test ./cmd/cairn -run '^$' -bench Replication -benchtime 1x -count 3
func BenchmarkReplication(b *testing.B) {
	nodes := []*replNode{
		startReplNode(b, "owner", "library", "eu-west", nil),
		startReplNode(b, "school", "school", "eu-west", nil),
		startReplNode(b, "clinic", "clinic", "us-east", nil),
		startReplNode(b, "coop", "coop", "us-east", nil),
	}
	federate(b, nodes)
	byPeer := map[string]*replNode{}
	for _, n := range nodes {
		byPeer[n.id.PeerID] = n
	}
	src := filepath.Join(b.TempDir(), "big.bin")
	if err := os.WriteFile(src, sampleData(b, 256<<20, "BENCH"), 0o600); err != nil {
		b.Fatal(err)
	}
	owner := nodes[0]
	// The harness asks the owner's API in-process: running the CLI every
	// 20 ms would take a good part of a core from the daemons it measures.
	ownerAPI := apiClient(b, owner.repo)
	state := func(cid string) netstat.ObjectView {
		v, err := ownerAPI.Status(context.Background(), cid)
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	b.ResetTimer()
	for range b.N {
		var added node.AddResult
		cairnJSON(b, owner.repo, &added, "add", "--new", "--replicas", "3", src)
		start := time.Now()
		waitFor(b, 2*time.Minute, "backed_up", func() bool { return state(added.CID).State == netstat.StateBackedUp })
		b.ReportMetric(time.Since(start).Seconds(), "s-add-to-backed-up")
		b.ReportMetric(statusLatency(b, owner.repo, added.CID).Seconds()*1000, "ms-status-one-object")

		victim := pickRemoteHolder(b, objectStatus(b, owner, added.CID), byPeer)
		killed := time.Now()
		victim.d.kill()
		waitFor(b, time.Minute, "the copy to drop", func() bool { return state(added.CID).Copies < 3 })
		b.ReportMetric(time.Since(killed).Seconds(), "s-kill-to-copy-dropped")
		waitFor(b, 2*time.Minute, "backed_up again", func() bool { return backedUpWithout(b, state(added.CID), victim.id.PeerID) })
		b.ReportMetric(time.Since(killed).Seconds(), "s-kill-to-backed-up")
		b.StopTimer()
		victim.restart(b)
		b.StartTimer()
	}
}

// statusLatency is the median time the daemon's API takes to answer the
// status of one object, over 50 requests.
func statusLatency(b *testing.B, repoDir, cid string) time.Duration {
	b.Helper()
	c := apiClient(b, repoDir)
	var took []time.Duration
	for range 50 {
		start := time.Now()
		if _, err := c.Status(context.Background(), cid); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	return took[len(took)/2]
}

// apiClient connects to the API of the daemon running on repoDir.
func apiClient(t testing.TB, repoDir string) *api.Client {
	t.Helper()
	r, err := repo.Open(repoDir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := api.Dial(r)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
