package node

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/pnet"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/cairn-fed/cairn/internal/config"
	"github.com/cairn-fed/cairn/node/membership"
)

// userAgent tells peers which software they talk to.
const userAgent = "cairn/0.1"

// newHost starts the federation's libp2p host: TCP and QUIC (TCP alone
// in a private network), the default security and stream multiplexers, a
// connection manager, the federation's gater, no relay and no NAT port
// mapping (members are reachable by the addresses they are given). TCP
// dials from the listening port: see docs/protocols.md for what that
// gives and costs. traffic counts every byte it sends and receives, for
// /metrics.
func newHost(priv crypto.PrivKey, cfg config.Swarm, psk pnet.PSK, g *membership.Gater, traffic metrics.Reporter) (host.Host, error) {
	cm, err := connmgr.NewConnManager(cfg.LowWater, cfg.HighWater)
	if err != nil {
		return nil, fmt.Errorf("connection manager: %w", err)
	}
	transports := libp2p.ChainOptions(libp2p.Transport(tcp.NewTCPTransport), libp2p.Transport(quic.NewTransport))
	if psk != nil {
		transports = libp2p.ChainOptions(libp2p.Transport(tcp.NewTCPTransport), libp2p.PrivateNetwork(psk))
	}
	h, err := libp2p.New(
		libp2p.Identity(priv),
		libp2p.ListenAddrStrings(cfg.Listen...),
		transports,
		libp2p.DefaultSecurity,
		libp2p.DefaultMuxers,
		libp2p.ConnectionManager(cm),
		libp2p.ConnectionGater(g),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.BandwidthReporter(traffic),
		libp2p.UserAgent(userAgent),
	)
	if err != nil {
		return nil, fmt.Errorf("start libp2p host on %v: %w", cfg.Listen, err)
	}
	return h, nil
}

// readPSK loads the private-network key named by swarm.psk_file, if any.
func readPSK(path string) (pnet.PSK, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("swarm.psk_file: %w", err)
	}
	defer f.Close()
	psk, err := pnet.DecodeV1PSK(f)
	if err != nil {
		return nil, fmt.Errorf("swarm.psk_file %s is not a libp2p V1 PSK file (make one with `cairn federation new-psk`): %w", path, err)
	}
	return psk, nil
}

// NewPSK returns a fresh private-network key in the V1 PSK file format.
func NewPSK() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generate private-network key: %w", err)
	}
	return "/key/swarm/psk/1.0.0/\n/base16/\n" + hex.EncodeToString(key) + "\n", nil
}
