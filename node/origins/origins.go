// Package origins fetches IPFS DAGs from outside the federation, for
// `cairn pin` and the Pinning Service API: from IPFS peers (Kubo, IPFS
// Cluster) over the standard /ipfs/bitswap protocol, through a libp2p host
// of its own that serves nothing and joins no DHT, or from trustless HTTP
// gateways as a CAR. Every block is checked against its CID before it
// reaches the caller's store, which applies its own rules on top.
package origins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/boxo/bitswap"
	"github.com/ipfs/boxo/bitswap/network/bsnet"
	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	webrtc "github.com/libp2p/go-libp2p/p2p/transport/webrtc"
	"github.com/libp2p/go-libp2p/p2p/transport/websocket"
	webtransport "github.com/libp2p/go-libp2p/p2p/transport/webtransport"
	"github.com/multiformats/go-multiaddr"
)

// ErrBadOrigin means an origin is neither a multiaddr with a /p2p/ part
// nor an http(s) URL.
var ErrBadOrigin = errors.New("origins: not an origin")

// ErrNoOrigin means no origin could be reached or none had the DAG.
var ErrNoOrigin = errors.New("origins: no origin provided the DAG")

// MaxOrigins bounds the origins of one fetch.
const MaxOrigins = 20

// Origin is where a DAG can be fetched from: an IPFS peer or a gateway.
type Origin struct {
	Peer    *peer.AddrInfo // an IPFS peer, reached over /ipfs/bitswap
	Gateway *url.URL       // a trustless gateway, asked for ?format=car
}

func (o Origin) String() string {
	if o.Gateway != nil {
		return o.Gateway.String()
	}
	return o.Peer.String()
}

// Parse reads an origin: a multiaddr ending in /p2p/PEER_ID, or an
// http:// or https:// gateway URL (its path, if any, is the prefix before
// /ipfs/CID).
func Parse(s string) (Origin, error) {
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return Origin{}, fmt.Errorf("%w: %q is not a gateway URL", ErrBadOrigin, s)
		}
		return Origin{Gateway: u}, nil
	}
	ma, err := multiaddr.NewMultiaddr(s)
	if err != nil {
		return Origin{}, fmt.Errorf("%w: %q is neither a multiaddr nor an http(s) URL: %v", ErrBadOrigin, s, err)
	}
	info, err := peer.AddrInfoFromP2pAddr(ma)
	if err != nil {
		return Origin{}, fmt.Errorf("%w: %q has no /p2p/PEER_ID part: %v", ErrBadOrigin, s, err)
	}
	return Origin{Peer: info}, nil
}

// ParseAll reads up to MaxOrigins origins.
func ParseAll(ss []string) ([]Origin, error) {
	if len(ss) > MaxOrigins {
		return nil, fmt.Errorf("%w: %d origins, at most %d", ErrBadOrigin, len(ss), MaxOrigins)
	}
	out := make([]Origin, 0, len(ss))
	for _, s := range ss {
		o, err := Parse(s)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// Progress is what a fetch received so far.
type Progress struct {
	Blocks int   `json:"blocks"`
	Bytes  int64 `json:"bytes"`
}

// Options bound a fetch.
//
// OnProgress may be called from several goroutines, one at a time.
type Options struct {
	Timeout      time.Duration // the whole fetch
	StallTimeout time.Duration // without a single block received
	// OnProgress, if not nil, is called after each block received.
	OnProgress func(Progress)
	// AwaitDialers keeps a fetch that could dial none of its origin peers
	// waiting, up to StallTimeout, for one of them to dial the fetcher: a
	// Pinning Service client connects to the delegates once its request
	// is accepted, and behind a NAT that is the only way to reach it.
	// Another peer dialling in does not end the wait. Without it, or
	// without an origin peer, a fetch that reaches no peer fails at once.
	AwaitDialers bool
}

// Fetcher fetches DAGs from origins. Its libp2p host has a fresh identity
// each run, speaks bitswap as a client only (it answers no want) and
// starts no DHT; members of the federation refuse it like any stranger.
type Fetcher struct {
	host    host.Host
	bitswap *bitswap.Bitswap
	http    *http.Client
	logger  *slog.Logger
	origins originPeers // the origin peers each fetch under way asked
	// awaiting, if not nil, is called when a fetch starts waiting for an
	// origin to dial in (tests).
	awaiting func()
}

// New starts a fetcher. listen may be empty (the host only dials out) or
// multiaddrs for IPFS peers to dial in (a Pinning Service client connects
// to the service's delegates). have is consulted by bitswap for its
// statistics only.
func New(ctx context.Context, listen []string, have blockstore.Blockstore, logger *slog.Logger) (*Fetcher, error) {
	opts := []libp2p.Option{libp2p.DisableRelay(), libp2p.DisableMetrics(), libp2p.UserAgent("cairn-origins"), transports}
	if len(listen) == 0 {
		opts = append(opts, libp2p.NoListenAddrs)
	} else {
		opts = append(opts, libp2p.ListenAddrStrings(listen...))
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("start the origins host: %w", err)
	}
	net := bsnet.NewFromIpfsHost(h)
	bs := bitswap.New(ctx, net, nil, have, bitswap.WithServerEnabled(false))
	return &Fetcher{host: h, bitswap: bs, http: &http.Client{}, logger: logger, origins: originPeers{inUse: map[peer.ID]int{}}}, nil
}

// transports are libp2p's defaults, but TCP dials from an ephemeral port
// instead of the listening one. A Pinning Service client (Kubo) dials a
// delegate, from its own listening port, the moment the service accepts
// a request; the fetcher dials that client's origin address at the same
// moment. Both dialling from their listening ports make the same TCP
// 4-tuple, a simultaneous open: one connection on which both sides start
// the security handshake as its client, and both fail ("tls: received
// unexpected handshake message"), so the request failed with no peer to
// ask.
var transports = libp2p.ChainOptions(
	libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()),
	libp2p.Transport(quic.NewTransport),
	libp2p.Transport(websocket.New),
	libp2p.Transport(webtransport.New),
	libp2p.Transport(webrtc.New),
)

// Close stops the fetcher.
func (f *Fetcher) Close() error {
	return errors.Join(f.bitswap.Close(), f.host.Close())
}

// Addrs returns the host's addresses with its peer ID, for IPFS peers to
// dial (a Pinning Service's delegates); empty when it does not listen.
func (f *Fetcher) Addrs() []string {
	var out []string
	for _, a := range f.host.Addrs() {
		out = append(out, a.String()+"/p2p/"+f.host.ID().String())
	}
	return out
}

// Fetch stores every block of the DAG under root in dst, from the first
// gateway that serves it whole, else from the peers among origins over
// bitswap (and from any peer already connected, such as a Pinning Service
// client that dialled a delegate, or one that dials in while the fetch
// waits: Options.AwaitDialers). It returns ErrNoOrigin when none can be
// reached or the fetch stalls or times out.
func (f *Fetcher) Fetch(ctx context.Context, root cid.Cid, origins []Origin, dst blockstore.Blockstore, opts Options) error {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	var errs []error
	var peers []peer.AddrInfo
	for _, o := range origins {
		if o.Gateway == nil {
			peers = append(peers, *o.Peer)
			continue
		}
		err := f.fetchCAR(ctx, o.Gateway, root, dst, opts)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("gateway %s: %w", o.Gateway.Host, err))
	}
	f.origins.use(peers)
	defer f.release(peers)
	connected := 0
	for _, p := range peers {
		if err := f.host.Connect(ctx, p); err != nil {
			errs = append(errs, fmt.Errorf("peer %s: %w", p.ID, err))
			continue
		}
		connected++
	}
	if connected == 0 && len(f.host.Network().Peers()) == 0 {
		switch {
		case len(peers) == 0:
			errs = append(errs, errors.New("no IPFS peer to ask: give an origin (a multiaddr with /p2p/ or a gateway URL)"))
			return fmt.Errorf("%w %s: %w", ErrNoOrigin, root, errors.Join(errs...))
		case !opts.AwaitDialers || len(f.host.Addrs()) == 0:
			return fmt.Errorf("%w %s: %w", ErrNoOrigin, root, errors.Join(errs...))
		case !f.awaitDialer(ctx, peers, opts.StallTimeout):
			errs = append(errs, fmt.Errorf("no origin dialled this node within %s (fetch.stall_timeout)", opts.StallTimeout))
			return fmt.Errorf("%w %s: %w", ErrNoOrigin, root, errors.Join(errs...))
		}
	}
	if err := f.fetchBitswap(ctx, root, dst, opts); err != nil {
		errs = append(errs, err)
		return fmt.Errorf("%w %s: %w", ErrNoOrigin, root, errors.Join(errs...))
	}
	return nil
}

// fetchBitswap walks the DAG through a bitswap session with the
// connected peers, cancelling it when no block arrives for StallTimeout.
func (f *Fetcher) fetchBitswap(ctx context.Context, root cid.Cid, dst blockstore.Blockstore, opts Options) error {
	var got Progress
	var mu sync.Mutex // FetchGraph puts from several goroutines
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	counted := countingStore{Blockstore: dst, onPut: func(b blocks.Block) {
		mu.Lock()
		defer mu.Unlock()
		got.Blocks++
		got.Bytes += int64(len(b.RawData()))
		last.Store(time.Now().UnixNano())
		if opts.OnProgress != nil {
			opts.OnProgress(got)
		}
	}}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stalled := errors.New("stalled")
	go func() {
		tick := time.NewTicker(max(opts.StallTimeout/4, 10*time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if time.Since(time.Unix(0, last.Load())) > opts.StallTimeout {
					cancel(stalled)
					return
				}
			}
		}
	}()
	serv := blockservice.New(counted, f.bitswap)
	err := merkledag.FetchGraph(ctx, root, merkledag.NewDAGService(serv))
	mu.Lock()
	defer mu.Unlock()
	switch {
	case err == nil:
		return nil
	case errors.Is(context.Cause(ctx), stalled):
		return fmt.Errorf("no peer sent a block for %s (after %d blocks, %d bytes)", opts.StallTimeout, got.Blocks, got.Bytes)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("not every block arrived within %s (after %d blocks, %d bytes)", opts.Timeout, got.Blocks, got.Bytes)
	}
	return fmt.Errorf("bitswap: %w", err)
}

// fetchCAR asks a trustless gateway for the whole DAG as a CAR and stores
// its blocks; the caller checks the DAG is complete.
func (f *Fetcher) fetchCAR(ctx context.Context, gw *url.URL, root cid.Cid, dst blockstore.Blockstore, opts Options) error {
	u := *gw
	u.Path = strings.TrimSuffix(u.Path, "/") + "/ipfs/" + root.String()
	u.RawQuery = "format=car&dag-scope=all"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.ipld.car")
	resp, err := f.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("answered %s", resp.Status)
	}
	car, err := carv2.NewBlockReader(resp.Body, carv2.MaxAllowedSectionSize(4<<20))
	if err != nil {
		return fmt.Errorf("not a CAR: %w", err)
	}
	if len(car.Roots) != 1 || !car.Roots[0].Equals(root) {
		return fmt.Errorf("sent a CAR of roots %v, not %s", car.Roots, root)
	}
	var got Progress
	for {
		b, err := car.Next() // verifies the block against its CID
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("block %d: %w", got.Blocks+1, err)
		}
		if err := dst.Put(ctx, b); err != nil {
			return err
		}
		got.Blocks++
		got.Bytes += int64(len(b.RawData()))
		if opts.OnProgress != nil {
			opts.OnProgress(got)
		}
	}
}

// countingStore reports each block put.
type countingStore struct {
	blockstore.Blockstore
	onPut func(blocks.Block)
}

func (c countingStore) Put(ctx context.Context, b blocks.Block) error {
	if err := c.Blockstore.Put(ctx, b); err != nil {
		return err
	}
	c.onPut(b)
	return nil
}

func (c countingStore) PutMany(ctx context.Context, bs []blocks.Block) error {
	for _, b := range bs {
		if err := c.Put(ctx, b); err != nil {
			return err
		}
	}
	return nil
}
