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

// BenchmarkDeletion measures, on five real daemons of five operators with
// the default settings, the time from `cairn rm` returning until the
// owner holds an 'applied' acknowledgement from every holder of a
// replicated object (an upper bound on every holder having applied it).
// Run it with
//
//	go test ./cmd/cairn -run '^$' -bench Deletion -benchtime 3x
func BenchmarkDeletion(b *testing.B) {
	nodes := []*replNode{
		startReplNode(b, "owner", "library", "eu-west", nil),
		startReplNode(b, "school", "school", "eu-west", nil),
		startReplNode(b, "clinic", "clinic", "us-east", nil),
		startReplNode(b, "coop", "coop", "us-east", nil),
		startReplNode(b, "farm", "farm", "us-west", nil),
	}
	federate(b, nodes)
	owner := nodes[0]
	r, err := repo.Open(owner.repo)
	if err != nil {
		b.Fatal(err)
	}
	c, err := api.Dial(r)
	if err != nil {
		b.Fatal(err)
	}
	src := filepath.Join(b.TempDir(), "doc.bin")
	if err := os.WriteFile(src, sampleData(b, 16<<20, "DELETE"), 0o600); err != nil {
		b.Fatal(err)
	}
	var took []time.Duration
	for range b.N {
		var added node.AddResult
		cairnJSON(b, owner.repo, &added, "add", "--new", "--replicas", "3", src)
		waitFor(b, 2*time.Minute, "backed_up", func() bool { return objectStatus(b, owner, added.CID).State == netstat.StateBackedUp })
		cairn(b, owner.repo, "rm", added.CID)
		start := time.Now()
		poll := time.NewTicker(2 * time.Millisecond)
		for {
			v, err := c.Status(context.Background(), added.CID)
			if err != nil {
				b.Fatal(err)
			}
			if v.DeletionView != nil && v.HoldersAtDeletion >= 3 && v.DeletedOn == v.HoldersAtDeletion {
				break
			}
			if time.Since(start) > time.Minute {
				b.Fatalf("holders did not acknowledge within a minute: %+v", v.DeletionView)
			}
			<-poll.C
		}
		poll.Stop()
		took = append(took, time.Since(start))
	}
	b.ReportMetric(median(took).Seconds()*1000, "ms-rm-to-every-holder-applied")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
