package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/cairn-fed/cairn/federation"
	"github.com/cairn-fed/cairn/internal/wire"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/repo"
	"github.com/cairn-fed/cairn/replication"
	"github.com/cairn-fed/cairn/tombstone"
)

// The hostile member: a libp2p host built from an admitted member's own
// identity key, which sends whatever messages any member may send, crafted
// with the real encoders, and keeps what honest members send it (their
// roster, their attestations, the tombstones they gossip). It has no
// listen address: honest nodes reach it only over the connections it dials.

// attacker is the compromised member M.
type attacker struct {
	t    testing.TB
	host host.Host
	key  ed25519.PrivateKey // M's identity key, which signs its attestations
	ps   *pubsub.PubSub

	mu     sync.Mutex
	roster federation.Roster                                // the first roster an honest node sent, guarded by mu
	topic  *pubsub.Topic                                    // the tombstone topic once joined, guarded by mu
	heard  map[replication.ObjectID]replication.Attestation // latest honest attestation per object, guarded by mu
	gossip []tombstone.Tombstone                            // tombstones heard on the topic, guarded by mu
	serve  [][]byte                                         // what the tombstone-sync handler answers, guarded by mu
	pulls  map[peer.ID]int                                  // tombstone syncs served, by puller, guarded by mu
	seq    uint64                                           // last Seq M signed, guarded by mu
}

// grindIdentity generates ed25519 identities until one's peer ID sorts
// before every one of others, and returns it with the number of tries.
func grindIdentity(t testing.TB, others ...string) (crypto.PrivKey, int) {
	t.Helper()
	for tries := 1; tries <= 10000; tries++ {
		priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		id, err := peer.IDFromPrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		first := true
		for _, o := range others {
			first = first && id.String() < o
		}
		if first {
			return priv, tries
		}
	}
	t.Fatalf("no identity sorting before %v in 10000 tries", others)
	return nil, 0
}

// initRepoWithIdentity creates a repository whose identity is priv, as
// if `cairn init` had drawn it.
func initRepoWithIdentity(t testing.TB, name string, priv crypto.PrivKey) string {
	t.Helper()
	dir := initRepo(t, name)
	data, err := crypto.MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, repo.IdentityFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newAttacker builds M's host from the identity key in M's repository.
func newAttacker(t testing.TB, repoDir string) *attacker {
	t.Helper()
	r, err := repo.Open(repoDir)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := r.Identity()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := priv.Raw()
	if err != nil || len(raw) != ed25519.PrivateKeySize {
		t.Fatalf("M's identity is not ed25519: %v", err)
	}
	h, err := libp2p.New(libp2p.Identity(priv), libp2p.NoListenAddrs, libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DefaultSecurity, libp2p.DefaultMuxers, libp2p.DisableRelay(), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); h.Close() })
	ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithFloodPublish(true))
	if err != nil {
		t.Fatal(err)
	}
	a := &attacker{t: t, host: h, key: ed25519.PrivateKey(raw), ps: ps,
		heard: map[replication.ObjectID]replication.Attestation{}, pulls: map[peer.ID]int{}}
	h.SetStreamHandler(node.RosterProtocol, a.keepRoster)
	h.SetStreamHandler(node.AttestProtocol, a.keepAttestations)
	h.SetStreamHandler(node.TombstoneSyncProtocol, a.answerTombstoneSync)
	return a
}

func (a *attacker) id() peer.ID { return a.host.ID() }

func (a *attacker) pub() ed25519.PublicKey { return a.key.Public().(ed25519.PublicKey) }

// authority is the federation authority's public key, from the roster.
func (a *attacker) authority() ed25519.PublicKey {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.roster.AuthorityKey
}

// keepRoster reads the roster an honest member hands M on connection and
// joins the federation's tombstone topic named after it.
func (a *attacker) keepRoster(s network.Stream) {
	defer s.Close()
	data, err := io.ReadAll(io.LimitReader(s, 4<<20))
	if err != nil {
		return
	}
	r, err := federation.DecodeRoster(data)
	if err != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.topic != nil {
		return
	}
	topic, err := a.ps.Join("/cairn/" + r.FederationID + "/tombstones")
	if err != nil {
		a.t.Errorf("join the tombstone topic: %v", err)
		return
	}
	sub, err := topic.Subscribe()
	if err != nil {
		a.t.Errorf("subscribe to the tombstone topic: %v", err)
		return
	}
	a.roster, a.topic = r, topic
	go a.listen(sub)
}

// listen keeps every tombstone gossiped on the topic.
func (a *attacker) listen(sub *pubsub.Subscription) {
	for {
		msg, err := sub.Next(context.Background())
		if err != nil {
			return
		}
		if t, _, err := tombstone.DecodeMessage(msg.Data); err == nil && t != nil {
			a.mu.Lock()
			a.gossip = append(a.gossip, *t)
			a.mu.Unlock()
		}
	}
}

// keepAttestations accepts the attestations honest holders deliver to M
// (M is in the audience of every object of a four-member federation).
func (a *attacker) keepAttestations(s network.Stream) {
	defer s.Close()
	r := bufio.NewReader(s)
	for {
		frame, err := wire.ReadFrame(r, 64<<10)
		if err != nil {
			return
		}
		if att, err := replication.DecodeAttestation(frame); err == nil {
			a.mu.Lock()
			if old, ok := a.heard[att.Object]; !ok || old.Seq < att.Seq || old.Policy == nil {
				a.heard[att.Object] = att
			}
			a.mu.Unlock()
		}
	}
}

// answerTombstoneSync plays the responder of a tombstone pull: it echoes
// the puller's digest (so the puller lists nothing), then sends whatever
// frames M chose to serve.
func (a *attacker) answerTombstoneSync(s network.Stream) {
	defer s.Close()
	s.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(s)
	digest, err := wire.ReadFrame(r, 4<<10)
	if err != nil {
		s.Reset()
		return
	}
	if err := wire.WriteFrame(s, digest); err != nil {
		s.Reset()
		return
	}
	if _, err := wire.ReadFrame(r, 16<<20); err != nil {
		s.Reset()
		return
	}
	a.mu.Lock()
	frames := append([][]byte(nil), a.serve...)
	a.mu.Unlock()
	w := bufio.NewWriter(s)
	for _, f := range frames {
		wire.WriteFrame(w, f)
	}
	w.Flush()
	a.mu.Lock()
	a.pulls[s.Conn().RemotePeer()]++
	a.mu.Unlock()
}

// connect dials an honest node at the address `cairn id` printed.
func (a *attacker) connect(n *fedNode) {
	a.t.Helper()
	info, err := peer.AddrInfoFromString(n.id.Addrs[0])
	if err != nil {
		a.t.Fatalf("address %s: %v", n.id.Addrs[0], err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.host.Connect(ctx, *info); err != nil {
		a.t.Fatalf("M connects to %s: %v", n.repo, err)
	}
}

// disconnect closes every connection to n and waits until n saw it go.
func (a *attacker) disconnect(n *fedNode) {
	a.t.Helper()
	p := mustPeer(a.t, n.id.PeerID)
	a.host.Network().ClosePeer(p)
	waitFor(a.t, 10*time.Second, "the honest node to see M disconnect", func() bool {
		m, ok := members(a.t, n)[a.id().String()]
		return ok && !m.Connected
	})
}

// reconnect closes M's connection to n and dials again: n treats M as
// gone (onMemberDisconnected) and then as new (anti-entropy, roster).
func (a *attacker) reconnect(n *fedNode) {
	a.t.Helper()
	a.disconnect(n)
	a.connect(n)
}

func mustPeer(t testing.TB, s string) peer.ID {
	t.Helper()
	p, err := peer.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitJoined waits until M knows the federation's tombstone topic and
// every node in ns is subscribed to it as M sees it.
func (a *attacker) waitJoined(ns ...*fedNode) {
	a.t.Helper()
	waitFor(a.t, 20*time.Second, "M to join the tombstone topic with the honest nodes", func() bool {
		a.mu.Lock()
		topic := a.topic
		a.mu.Unlock()
		if topic == nil {
			return false
		}
		peers := map[peer.ID]bool{}
		for _, p := range topic.ListPeers() {
			peers[p] = true
		}
		for _, n := range ns {
			if !peers[mustPeer(a.t, n.id.PeerID)] {
				return false
			}
		}
		return true
	})
}
