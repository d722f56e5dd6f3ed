package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/cairn-fed/cairn/tombstone"
)

// gossipObserver is a federation member that runs bare gossipsub with no
// validator and connects only to one node: whatever it receives on a
// topic, that node forwarded.
type gossipObserver struct {
	mu  sync.Mutex
	got [][]byte // guarded by mu
}

// observe admits a bare host to via's federation, connects it to via
// alone and records every message it receives on topic.
func observeGossip(t *testing.T, via *Node, topic string) *gossipObserver {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(priv), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.ConnectionGater(onlyPeer(via.net.host.ID())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if _, err := via.FederationAdmit(ctx, h.ID().String(), "op-gossipObserver", "eu"); err != nil {
		t.Fatal(err)
	}
	ps, err := pubsub.NewGossipSub(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := ps.Join(topic)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := tp.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Connect(ctx, peer.AddrInfo{ID: via.net.host.ID(), Addrs: via.net.host.Addrs()}); err != nil {
		t.Fatal(err)
	}
	o := &gossipObserver{}
	go func() {
		for {
			msg, err := sub.Next(ctx)
			if err != nil {
				return
			}
			o.mu.Lock()
			o.got = append(o.got, msg.Data)
			o.mu.Unlock()
		}
	}()
	return o
}

func (o *gossipObserver) received(data []byte) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, g := range o.got {
		if bytes.Equal(g, data) {
			return true
		}
	}
	return false
}

func (o *gossipObserver) receivedTombstone(obj string, signer ed25519.PublicKey) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, g := range o.got {
		if tb, _, err := tombstone.DecodeMessage(g); err == nil && tb != nil && tb.Object == obj && bytes.Equal(tb.Signer, signer) {
			return true
		}
	}
	return false
}

// onlyPeer is a connection gater that lets one peer in and out.
type onlyPeer peer.ID

func (o onlyPeer) InterceptPeerDial(p peer.ID) bool { return p == peer.ID(o) }
func (o onlyPeer) InterceptAddrDial(p peer.ID, _ multiaddr.Multiaddr) bool {
	return p == peer.ID(o)
}
func (o onlyPeer) InterceptAccept(network.ConnMultiaddrs) bool { return true }
func (o onlyPeer) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return p == peer.ID(o)
}
func (o onlyPeer) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
