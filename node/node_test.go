package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/federation"
	"github.com/cairn-fed/cairn/internal/logbuf"
	"github.com/cairn-fed/cairn/internal/wire"
	"github.com/cairn-fed/cairn/node/repo"
)

// startTestNode runs a real node in this process, on loopback.
func startTestNode(t testing.TB, name string) *Node {
	t.Helper()
	return startNode(t, name, slog.New(slog.DiscardHandler), nil)
}

// startNode runs a real node in this process, on loopback, logging to
// logger; edit, if not nil, may change the repository before the node starts.
func startNode(t testing.TB, name string, logger *slog.Logger, edit func(*repo.Repo)) *Node {
	t.Helper()
	r, err := repo.Init(filepath.Join(t.TempDir(), name), repo.InitOptions{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, API: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(r)
	}
	owner, err := r.Owner(nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(r, Options{Owner: owner, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// startPSKNode runs a node whose config names a private-network key file.
func startPSKNode(t *testing.T, name, psk string) *Node {
	t.Helper()
	return startNode(t, name, slog.New(slog.DiscardHandler), func(r *repo.Repo) {
		if err := os.WriteFile(r.Path("swarm.key"), []byte(psk), 0o600); err != nil {
			t.Fatal(err)
		}
		r.Config.Swarm.PSKFile = "swarm.key"
	})
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		case <-tick.C:
		}
	}
}

// TestForgedAndReplayedRostersAreRejected sends a member a roster signed by
// the wrong key and an older genuine roster, over the roster protocol and
// over gossip: neither is applied.
func TestForgedAndReplayedRostersAreRejected(t *testing.T) {
	ctx := context.Background()
	a, b := startTestNode(t, "a"), startTestNode(t, "b")
	if _, err := a.FederationCreate(ctx, "fed", "op-a", "eu"); err != nil {
		t.Fatal(err)
	}
	v1 := *a.currentRoster()
	token, err := a.FederationAdmit(ctx, b.net.host.ID().String(), "op-b", "us")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.FederationJoin(ctx, token); err != nil {
		t.Fatal(err)
	}
	v2 := *a.currentRoster()

	forged, foreign := forgeRoster(t, v2, true), forgeRoster(t, v2, false)
	topic, err := b.rosterTopic(v2.FederationID)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "b to see a on the roster topic", func() bool {
		for _, p := range topic.ListPeers() {
			if p == a.net.host.ID() {
				return true
			}
		}
		return false
	})
	sends := []func() error{
		func() error { return b.sendRoster(ctx, a.net.host.ID(), forged) },
		func() error { return b.sendRoster(ctx, a.net.host.ID(), v1.Encode()) },
		func() error { return b.sendRoster(ctx, a.net.host.ID(), foreign) },
		func() error { return topic.Publish(ctx, forged) },
		func() error { return topic.Publish(ctx, []byte("not a roster")) },
	}
	for i, send := range sends {
		before := a.fed.RostersRejected()
		if err := send(); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		waitUntil(t, 10*time.Second, "the roster to be judged", func() bool { return a.fed.RostersRejected() > before })
		if got := a.currentRoster(); got.Version != v2.Version || got.Signature == nil || string(got.Encode()) != string(v2.Encode()) {
			t.Fatalf("send %d: roster changed to version %d", i, got.Version)
		}
	}
	faultRow(t, fmt.Sprintf("forged, replayed and foreign rosters over the roster protocol and gossip: accepted of %d", len(sends)), "0", "0")
}

// faultRow prints one row of the fault table (scripts/faults collects
// them) unless the test failed.
func faultRow(t *testing.T, scenario, got, goal string) {
	if !t.Failed() {
		fmt.Printf("| %s | %s | goal %s |\n", scenario, got, goal)
	}
}

// forgeRoster makes a newer roster with a changed member, signed by a key
// that is not the federation's authority; with ownFederation it claims r's
// federation and authority key, else it is the rogue key's own federation.
func forgeRoster(t *testing.T, r federation.Roster, ownFederation bool) []byte {
	t.Helper()
	rogue, err := federation.NewAuthority(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	forged := r
	forged.Version = r.Version + 5
	forged.Members = append([]federation.Member(nil), r.Members...)
	forged.Members[0].Operator = "rogue-operator"
	forged.FederationID, forged.AuthorityKey = rogue.FederationID(), rogue.PublicKey()
	signed, err := forged.Sign(rogue)
	if err != nil {
		t.Fatal(err)
	}
	if ownFederation {
		signed.FederationID, signed.AuthorityKey = r.FederationID, r.AuthorityKey
	}
	return signed.Encode()
}

func TestPrivateNetworkKey(t *testing.T) {
	ctx := context.Background()
	k1, _ := NewPSK()
	k2, _ := NewPSK()
	a, b, stranger := startPSKNode(t, "a", k1), startPSKNode(t, "b", k1), startPSKNode(t, "c", k2)
	if err := b.Connect(ctx, a.ID().Addrs[0]); err != nil {
		t.Fatalf("same key: %v", err)
	}
	err := stranger.Connect(ctx, a.ID().Addrs[0])
	if err == nil || !strings.Contains(err.Error(), "swarm.psk_file") {
		t.Fatalf("different keys: got %v, want an error naming swarm.psk_file", err)
	}
}

// federatedPair starts two in-process nodes of one federation, a the
// founder.
func federatedPair(t *testing.T, logger *slog.Logger) (a, b *Node) {
	t.Helper()
	return federatedPairWith(t, logger, nil)
}

// federatedPairWith is federatedPair with editA changing a's repository
// (its config) before a starts.
func federatedPairWith(t *testing.T, logger *slog.Logger, editA func(*repo.Repo)) (a, b *Node) {
	t.Helper()
	ctx := context.Background()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a, b = startNode(t, "a", logger, editA), startTestNode(t, "b")
	if _, err := a.FederationCreate(ctx, "fed", "op-a", "eu"); err != nil {
		t.Fatal(err)
	}
	token, err := a.FederationAdmit(ctx, b.net.host.ID().String(), "op-b", "us")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.FederationJoin(ctx, token); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// TestMisbehavingMemberIsRefusedAndLoggedOnce: a member sends garbage
// attestations and a storm of garbage challenges. Each is
// refused and counted, the node keeps working, and the log holds one
// warning per kind, not one per message.
func TestMisbehavingMemberIsRefusedAndLoggedOnce(t *testing.T) {
	ctx := context.Background()
	var logs logbuf.Buffer
	a, b := federatedPair(t, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	const storm = 50
	for i := range storm {
		// Each garbage frame ends its stream, so each goes on its own.
		s, err := b.net.host.NewStream(ctx, a.net.host.ID(), AttestProtocol)
		if err != nil {
			t.Fatal(err)
		}
		wire.WriteFrame(s, []byte(fmt.Sprintf("not an attestation %d", i)))
		s.CloseWrite()
		io.ReadAll(s)
		s.Close()
		waitUntil(t, 10*time.Second, fmt.Sprintf("attestation %d to be refused", i), func() bool {
			return a.rejected.count("attestation") > int64(i)
		})
		s, err = b.net.host.NewStream(ctx, a.net.host.ID(), ChallengeProtocol)
		if err != nil {
			t.Fatal(err)
		}
		s.Write([]byte("not a challenge"))
		s.CloseWrite()
		io.ReadAll(s)
		s.Close()
	}
	waitUntil(t, 10*time.Second, "every message to be refused", func() bool {
		return a.rejected.count("attestation") >= storm && a.rejected.count("challenge") >= storm
	})
	faultRow(t, fmt.Sprintf("garbage attestations and a challenge storm from a member: refused of %d each, node still answering", storm), fmt.Sprint(storm), fmt.Sprint(storm))
	if _, err := a.Status(ctx, "bafkqaaa"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after the storm, Status of an unknown object: %v; want ErrNotFound from a working node", err)
	}
	for _, kind := range []string{"kind=attestation", "kind=challenge"} {
		if n := strings.Count(logs.String(), kind); n != 1 {
			t.Errorf("%d warnings logged for %s, want exactly 1:\n%s", n, kind, logs.String())
		}
	}
}
