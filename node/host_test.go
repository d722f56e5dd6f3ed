package node

import (
	"context"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/pnet"
	"github.com/multiformats/go-multiaddr"

	"github.com/cairn-fed/cairn/internal/config"
	"github.com/cairn-fed/cairn/node/membership"
)

// TestHostDialsFromAnEphemeralPort: a member dials another from a TCP port
// other than the one it listens on, with and without a private network
// key. Two members dialling each other at once from their listening ports
// made one TCP connection of the two dials, and both failed.
func TestHostDialsFromAnEphemeralPort(t *testing.T) {
	text, err := NewPSK()
	if err != nil {
		t.Fatal(err)
	}
	psk, err := pnet.DecodeV1PSK(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]pnet.PSK{"open": nil, "private network": psk} {
		t.Run(name, func(t *testing.T) {
			start := func() host.Host {
				priv, _, err := crypto.GenerateEd25519Key(nil)
				if err != nil {
					t.Fatal(err)
				}
				cfg := config.Swarm{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, LowWater: 16, HighWater: 32}
				h, err := newHost(priv, cfg, key, &membership.Gater{}, metrics.NewBandwidthCounter())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { h.Close() })
				return h
			}
			a, b := start(), start()
			if err := a.Connect(context.Background(), peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
				t.Fatal(err)
			}
			listening, _ := a.Addrs()[0].ValueForProtocol(multiaddr.P_TCP)
			for _, c := range a.Network().ConnsToPeer(b.ID()) {
				if port, _ := c.LocalMultiaddr().ValueForProtocol(multiaddr.P_TCP); port == listening {
					t.Errorf("dialled %s from %s, the port it listens on", c.RemoteMultiaddr(), c.LocalMultiaddr())
				}
			}
		})
	}
}
