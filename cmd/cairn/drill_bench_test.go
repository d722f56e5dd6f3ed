package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/node"
)

// BenchmarkDrill times the restore drill of issue 19 as a user runs it:
// `cairn verify --all` on the owner's node, reading 10 objects of 10 MiB
// back from the two other members (target: at most 5 s).
//
//	go test ./cmd/cairn -run '^$' -bench Drill -benchtime 3x
func BenchmarkDrill(b *testing.B) {
	nodes := []*replNode{
		startReplNode(b, "owner", "library", "eu-west", nil),
		startReplNode(b, "school", "school", "eu-west", nil),
		startReplNode(b, "clinic", "clinic", "us-east", nil),
	}
	federate(b, nodes)
	owner := apiClient(b, nodes[0].repo)
	dir := b.TempDir()
	var cids []string
	for i := range 10 {
		path := filepath.Join(dir, fmt.Sprintf("scan-%02d.bin", i))
		if err := os.WriteFile(path, sampleData(b, 10<<20, fmt.Sprintf("SCAN%02d", i)), 0o600); err != nil {
			b.Fatal(err)
		}
		var added node.AddResult
		addQuietly(b, nodes[0].repo, &added, "--replicas", "3", path)
		cids = append(cids, added.CID)
	}
	waitEvery(b, time.Second, 5*time.Minute, "every object on three operators", func() bool {
		for _, c := range cids {
			if v, err := owner.Status(context.Background(), c); err != nil || v.Copies < 3 {
				return false
			}
		}
		return true
	})
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		out, err := cairnResult(b, nodes[0].repo, nil, "verify", "--all")
		took = append(took, time.Since(start))
		if err != nil || !strings.Contains(out, "10 read back, 0 failed") {
			b.Fatalf("cairn verify --all: %v\n%s", err, out)
		}
	}
	b.ReportMetric(median(took).Seconds(), "s-drill-10x10MiB")
}
