package origins

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
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
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
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
// waits for it and fetches from it; another peer dialling in does not
// end the wait; without AwaitDialers, the fetch fails at once.
func TestFetchAwaitsAClientThatDialsIn(t *testing.T) {
	ctx := context.Background()
	block := cartest.Raw(t, "the minutes, behind a NAT")
	newStore := func() blockstore.Blockstore {
		return blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
	}
	newHost := func() host.Host {
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		return h
	}
	for _, c := range []struct {
		name    string
		await   bool
		dialler string // who dials the fetcher once it waits: "client", "stranger" or none
	}{
		{"not awaiting", false, ""},
		{"awaiting, the client dials in", true, "client"},
		{"awaiting, a stranger dials in", true, "stranger"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := New(ctx, []string{"/ip4/127.0.0.1/tcp/0"}, newStore(), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// The client: a bitswap server holding the block, whose only
			// origin address refuses connections.
			client, stranger := newHost(), newHost()
			held := newStore()
			if err := held.Put(ctx, block); err != nil {
				t.Fatal(err)
			}
			server := bitswap.New(ctx, bsnet.NewFromIpfsHost(client), nil, held)
			defer server.Close()
			refused := multiaddr.StringCast("/ip4/127.0.0.1/tcp/9") // discard: nothing listens
			origin := Origin{Peer: &peer.AddrInfo{ID: client.ID(), Addrs: []multiaddr.Multiaddr{refused}}}

			dialled := make(chan error, 1)
			f.awaiting = func() {
				if c.dialler == "" {
					t.Error("the fetch waits for a dialler without AwaitDialers")
					return
				}
				// As Kubo dials the delegate once its request is accepted.
				go func() {
					h := map[string]host.Host{"client": client, "stranger": stranger}[c.dialler]
					dialled <- h.Connect(ctx, peer.AddrInfo{ID: f.host.ID(), Addrs: f.host.Addrs()})
				}()
			}
			dst := newStore()
			err = f.Fetch(ctx, block.Cid(), []Origin{origin}, dst, Options{Timeout: time.Minute, StallTimeout: 2 * time.Second, AwaitDialers: c.await})
			if c.dialler != "" {
				if err := <-dialled; err != nil {
					t.Fatal(err)
				}
			}
			have, _ := dst.Has(ctx, block.Cid())
			switch {
			case c.dialler == "client" && (err != nil || !have):
				t.Fatalf("Fetch = %v, block fetched %v; want it fetched from the client that dialled in", err, have)
			case c.dialler != "client" && !errors.Is(err, ErrNoOrigin):
				t.Fatalf("Fetch = %v; want ErrNoOrigin", err)
			case c.dialler == "stranger" && !strings.Contains(err.Error(), "no origin dialled"):
				t.Fatalf("Fetch = %v; want it to have waited for the client alone", err)
			}
		})
	}
}

// TestOriginPeersKeepAPeerAnotherFetchUses: a fetch that ends disconnects
// only the origin peers no other fetch under way asked.
func TestOriginPeersKeepAPeerAnotherFetchUses(t *testing.T) {
	a, b := peer.AddrInfo{ID: "kubo-a"}, peer.AddrInfo{ID: "kubo-b"}
	o := originPeers{inUse: map[peer.ID]int{}}
	o.use([]peer.AddrInfo{a, b})
	o.use([]peer.AddrInfo{a})
	if idle := o.done([]peer.AddrInfo{a, b}); !slices.Equal(idle, []peer.ID{b.ID}) {
		t.Fatalf("the first fetch ends: disconnect %v; want only %s, which the other fetch did not ask", idle, b.ID)
	}
	if idle := o.done([]peer.AddrInfo{a}); !slices.Equal(idle, []peer.ID{a.ID}) {
		t.Fatalf("the second fetch ends: disconnect %v; want %s", idle, a.ID)
	}
	if len(o.inUse) != 0 {
		t.Fatalf("peers still counted after every fetch ended: %v", o.inUse)
	}
}
