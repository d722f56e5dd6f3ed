package origins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/boxo/bitswap"
	"github.com/ipfs/boxo/bitswap/network/bsnet"
	"github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/multiformats/go-multiaddr"

	"github.com/cairn-fed/cairn/internal/cartest"
)

// TestGatewayOrigins: a gateway's CAR is read block by block and checked;
// a gateway that lies about a block or the root, answers with an error or
// with something that is not a CAR is refused with a reason.
func TestGatewayOrigins(t *testing.T) {
	good := cartest.Raw(t, "the report")
	lying, _ := blocks.NewBlockWithCid([]byte("something else"), good.Cid())
	other := cartest.Raw(t, "another DAG")
	answers := map[string]func(w http.ResponseWriter){
		"honest":    func(w http.ResponseWriter) { w.Write(cartest.Bundle(t, []cid.Cid{good.Cid()}, good)) },
		"lying":     func(w http.ResponseWriter) { w.Write(cartest.Bundle(t, []cid.Cid{good.Cid()}, lying)) },
		"wrongroot": func(w http.ResponseWriter) { w.Write(cartest.Bundle(t, []cid.Cid{other.Cid()}, other)) },
		"notcar":    func(w http.ResponseWriter) { w.Write([]byte("<html>hello</html>")) },
		"missing":   func(w http.ResponseWriter) { http.Error(w, "no such CID", http.StatusNotFound) },
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("format") != "car" || !strings.HasSuffix(r.URL.Path, "/ipfs/"+good.Cid().String()) {
			http.Error(w, "bad request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		answers[strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]](w)
	}))
	defer srv.Close()
	ctx := context.Background()
	f, err := New(ctx, nil, blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore())), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	opts := Options{Timeout: 10 * time.Second, StallTimeout: 2 * time.Second}
	for name, want := range map[string]string{"honest": "", "lying": "mismatch", "wrongroot": "roots", "notcar": "not a CAR", "missing": "404"} {
		o, err := Parse(srv.URL + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		dst := blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
		err = f.Fetch(ctx, good.Cid(), []Origin{o}, dst, opts)
		has, _ := dst.Has(ctx, good.Cid())
		switch {
		case want == "" && (err != nil || !has):
			t.Errorf("%s: %v, block stored %v", name, err, has)
		case want != "" && (err == nil || !errors.Is(err, ErrNoOrigin) || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want ErrNoOrigin saying %q", name, err, want)
		case want != "" && has:
			t.Errorf("%s: a refused answer stored the block", name)
		}
	}
}

func TestParse(t *testing.T) {
	for _, bad := range []string{"", "kubo:4001", "/ip4/127.0.0.1/tcp/4001", "http://", "ftp://x/y"} {
		if _, err := Parse(bad); !errors.Is(err, ErrBadOrigin) {
			t.Errorf("Parse(%q) = %v, want ErrBadOrigin", bad, err)
		}
	}
	if _, err := ParseAll(make([]string, MaxOrigins+1)); !errors.Is(err, ErrBadOrigin) {
		t.Errorf("too many origins accepted")
	}
}

// TestDialsFromAnEphemeralPort: the fetcher, listening for a Pinning
// Service client, dials an IPFS peer from another TCP port than the one it
// listens on. Dialling from it, as the client dials the fetcher from its
// own listening port at the same moment, made one TCP connection of the
// two dials, which failed both handshakes and the pin request with them.
func TestDialsFromAnEphemeralPort(t *testing.T) {
	ctx := context.Background()
	store := blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
	f, err := New(ctx, []string{"/ip4/127.0.0.1/tcp/0"}, store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	client, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0")) // as Kubo: reuseport on
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := f.host.Connect(ctx, peer.AddrInfo{ID: client.ID(), Addrs: client.Addrs()}); err != nil {
		t.Fatal(err)
	}
	listening := map[string]bool{}
	for _, a := range f.host.Addrs() {
		port, _ := a.ValueForProtocol(multiaddr.P_TCP)
		listening[port] = true
	}
	for _, c := range f.host.Network().ConnsToPeer(client.ID()) {
		if port, _ := c.LocalMultiaddr().ValueForProtocol(multiaddr.P_TCP); listening[port] {
			t.Errorf("dialled %s from %s, the port the fetcher listens on (%v)", c.RemoteMultiaddr(), c.LocalMultiaddr(), f.host.Addrs())
		}
	}
}

// TestFetchAwaitsAClientThatDialsIn: a Pinning Service client behind a NAT
// cannot be dialled at the origins it gives; it dials the service's
// delegate instead. With AwaitDialers, a fetch whose origins all failed
// waits for it and fetches from it; without, it fails at once.
func TestFetchAwaitsAClientThatDialsIn(t *testing.T) {
	ctx := context.Background()
	block := cartest.Raw(t, "the minutes, behind a NAT")
	newStore := func() blockstore.Blockstore {
		return blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
	}
	for _, await := range []bool{false, true} {
		t.Run(fmt.Sprintf("AwaitDialers=%v", await), func(t *testing.T) {
			f, err := New(ctx, []string{"/ip4/127.0.0.1/tcp/0"}, newStore(), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// The client: a bitswap server holding the block, whose only
			// origin address refuses connections.
			client, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			held := newStore()
			if err := held.Put(ctx, block); err != nil {
				t.Fatal(err)
			}
			server := bitswap.New(ctx, bsnet.NewFromIpfsHost(client), nil, held)
			defer server.Close()
			refused := multiaddr.StringCast("/ip4/127.0.0.1/tcp/9") // discard: nothing listens
			origin := Origin{Peer: &peer.AddrInfo{ID: client.ID(), Addrs: []multiaddr.Multiaddr{refused}}}

			dialled := make(chan error, 1)
			go func() {
				// Once the fetcher's dial of the origin has failed, the
				// client dials the delegate, as Kubo does after its request
				// is accepted.
				deadline := time.After(10 * time.Second)
				tick := time.NewTicker(time.Millisecond)
				defer tick.Stop()
				for !f.host.Network().(*swarm.Swarm).Backoff().Backoff(client.ID(), refused) {
					select {
					case <-deadline:
						dialled <- errors.New("the fetcher never dialled the refused origin")
						return
					case <-tick.C:
					}
				}
				dialled <- client.Connect(ctx, peer.AddrInfo{ID: f.host.ID(), Addrs: f.host.Addrs()})
			}()
			dst := newStore()
			err = f.Fetch(ctx, block.Cid(), []Origin{origin}, dst, Options{Timeout: time.Minute, StallTimeout: 20 * time.Second, AwaitDialers: await})
			if err := <-dialled; err != nil {
				t.Fatal(err)
			}
			have, _ := dst.Has(ctx, block.Cid())
			switch {
			case await && (err != nil || !have):
				t.Fatalf("Fetch awaiting dialers = %v, block fetched %v; want it fetched from the client that dialled in", err, have)
			case !await && !errors.Is(err, ErrNoOrigin):
				t.Fatalf("Fetch not awaiting dialers = %v; want ErrNoOrigin at once", err)
			}
		})
	}
}
