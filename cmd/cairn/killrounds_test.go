package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/repo"
)

// TestKillRounds: in each round an add starts on the owner while the
// federation replicates earlier objects, and one daemon (the owner, the
// writer, or a holder) is killed with SIGKILL at a random moment, its
// store checked block by block, and restarted. At the end every
// acknowledged object must come back intact through the owner. Rounds:
// CAIRN_FAULT_ROUNDS (default 4; the fault suite's long run uses 100).
func TestKillRounds(t *testing.T) {
	rounds := 4
	if n, err := strconv.Atoi(os.Getenv("CAIRN_FAULT_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	nodes := []*replNode{
		startReplNode(t, "owner", "library", "eu-west", fastReplication),
		startReplNode(t, "school", "school", "eu-west", fastReplication),
		startReplNode(t, "clinic", "clinic", "us-east", fastReplication),
	}
	federate(t, nodes)
	owner := nodes[0]
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	acknowledged := map[string][]byte{} // capability -> content
	corrupt, interrupted := 0, 0
	for round := range rounds {
		content := sampleData(t, (4+rng.IntN(28))<<20, fmt.Sprintf("ROUND%d-", round))
		src := filepath.Join(t.TempDir(), "data.bin")
		os.WriteFile(src, content, 0o600)
		add := cairnCmd(context.Background(), owner.repo, "add", "--new", "--replicas", "3", src, "--json")
		var out bytes.Buffer
		add.Stdout, add.Stderr = &out, &out
		if err := add.Start(); err != nil {
			t.Fatal(err)
		}
		victim := nodes[rng.IntN(len(nodes))]
		<-time.After(time.Duration(rng.IntN(60)) * time.Millisecond) // a random moment of the add
		victim.d.kill()
		if err := add.Wait(); err == nil {
			var res node.AddResult
			if json.Unmarshal(out.Bytes(), &res) == nil && res.Capability != "" {
				acknowledged[res.Capability] = content
			}
		} else {
			interrupted++
		}
		before := t.Failed()
		checkStoreConsistent(t, filepath.Join(victim.repo, repo.BlocksDir))
		if !before && t.Failed() {
			corrupt++
		}
		victim.restart(t)
	}
	lost := 0
	for capability, want := range acknowledged {
		got := filepath.Join(t.TempDir(), "got")
		if _, err := cairnResult(t, owner.repo, nil, "get", capability, "-o", got); err != nil {
			lost++
			continue
		}
		if data, _ := os.ReadFile(got); !bytes.Equal(data, want) {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged objects lost or damaged", lost, len(acknowledged))
	}
	faultRow(t, fmt.Sprintf("kill -9 of the writer or a holder during add and replication, %d rounds (%d adds interrupted, %d acknowledged): acknowledged objects lost, stores with a corrupt block", rounds, interrupted, len(acknowledged)),
		fmt.Sprintf("%d, %d", lost, corrupt), "0, 0")
}
