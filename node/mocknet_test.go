package node_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/internal/sim"
	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
)

// These tests run several real nodes in this process on mocknet
// (internal/sim): the same node code as the daemons, its concurrency under
// the race detector, without sockets or processes.

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for ; !cond(); <-tick.C {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
	}
}

func stateAt(m *sim.Member, id string) netstat.State {
	v, err := m.Node.Status(context.Background(), id)
	if err != nil {
		return netstat.StateUnknown
	}
	return v.State
}

// TestMocknetFederation: four members of four operators in four regions
// join; an object added reaches backed_up on three; a region going dark
// makes its member unreachable and the object is repaired around it; the
// owner deletes a second object while that member is away; when the
// region comes back, the member rejoins by itself, learns the deletion,
// and every member agrees.
func TestMocknetFederation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four nodes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	repl := sim.FastReplication()
	repl.ChallengeInterval.Duration = 2 * time.Second
	repl.ChallengeTimeout.Duration = 2 * time.Second
	repl.ProofFreshness.Duration = 6 * time.Second
	repl.ReconnectGrace.Duration = 0
	c, err := sim.Start(ctx, sim.Config{Nodes: 4, Dir: t.TempDir(), Replication: repl})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	owner := c.Members[0]
	add := func(name string) string {
		t.Helper()
		res, err := owner.Node.Add(ctx, object.NewReaderSource(name, bytes.NewReader([]byte("minutes of "+name))), node.AddOptions{Name: name, Replicas: 3})
		if err != nil {
			t.Fatal(err)
		}
		return res.CID
	}
	kept, doomed := add("kept"), add("doomed")
	for _, id := range []string{kept, doomed} {
		waitUntil(t, time.Minute, "backed_up on 3 operators", func() bool { return stateAt(owner, id) == netstat.StateBackedUp })
	}

	// A holder other than the owner goes dark; the owner repairs around it.
	v, _ := owner.Node.Status(ctx, kept)
	var away *sim.Member
	for _, h := range v.Holders {
		for _, m := range c.Members[1:] {
			if h.PeerID == m.ID.String() && h.State == "verified" {
				away = m
			}
		}
	}
	if away == nil {
		t.Fatalf("no verified remote holder of %s: %+v", kept, v.Holders)
	}
	if err := c.Darken(away.Region); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the dark holder unreachable at the owner", func() bool {
		v, _ := owner.Node.Status(ctx, kept)
		for _, h := range v.Holders {
			if h.PeerID == away.ID.String() {
				return h.State == "unreachable"
			}
		}
		return false
	})
	waitUntil(t, time.Minute, "repair around the dark holder", func() bool {
		v, _ := owner.Node.Status(ctx, kept)
		return v.State == netstat.StateBackedUp
	})

	// A deletion while it is away reaches it when it is back.
	if _, err := owner.Node.Delete(ctx, doomed); err != nil {
		t.Fatal(err)
	}
	if err := c.Heal(away.Region); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, time.Minute, "every member, the returning one too, to see the deletion", func() bool {
		for _, m := range c.Members {
			if s := stateAt(m, doomed); s != netstat.StateDeleting && s != netstat.StateDeleted {
				return false
			}
		}
		return true
	})
	waitUntil(t, time.Minute, "the kept object backed_up everywhere after the rejoin", func() bool {
		for _, m := range c.Members {
			if stateAt(m, kept) != netstat.StateBackedUp {
				return false
			}
		}
		return true
	})
}
