package node

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cairn-fed/cairn/internal/object"
)

// TestNonMemberIsToldHowToBeAdmitted walks the path of a new machine
// that holds a capability but is in no federation: fetching and
// connecting both say how to be admitted (`cairn id`, then admit on the
// authority's node, then join here), since connecting cannot help; a
// member asked to connect to a non-member says how to admit it; and a
// member with no peer online is told to look at its peers.
func TestNonMemberIsToldHowToBeAdmitted(t *testing.T) {
	ctx := context.Background()
	a, stranger := startTestNode(t, "a"), startTestNode(t, "stranger")
	if _, err := a.FederationCreate(ctx, "fed", "op-a", "eu"); err != nil {
		t.Fatal(err)
	}
	kept, err := a.Add(ctx, object.NewReaderSource("kept.txt", strings.NewReader("kept by a")), AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	joinSteps := []string{"cairn id", "cairn federation admit", "cairn federation join TOKEN"}

	_, err = stranger.Open(ctx, kept.Capability)
	checkSays(t, "a non-member fetches", err, ErrNoFederation, joinSteps)
	err = stranger.Connect(ctx, a.ID().Addrs[0])
	checkSays(t, "a non-member connects to a member", err, ErrNoFederation, joinSteps)

	err = a.Connect(ctx, stranger.ID().Addrs[0])
	checkSays(t, "a member connects to a non-member", err, nil,
		[]string{"not a member", "cairn federation admit " + stranger.ID().PeerID})

	own, err := stranger.Add(ctx, object.NewReaderSource("own.txt", strings.NewReader("the stranger's")), AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Open(ctx, own.Capability)
	checkSays(t, "a member with no peer connected fetches", err, ErrNoPeers, []string{"cairn peers", "cairn connect MULTIADDR"})
}

// checkSays fails unless err is target (when not nil) and its message
// names every one of wants.
func checkSays(t *testing.T, what string, err, target error, wants []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	if target != nil && !errors.Is(err, target) {
		t.Errorf("%s: %v, want %v", what, err, target)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: %q does not say %q", what, err, w)
		}
	}
}
