package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/api"
	"github.com/cairn-fed/cairn/node/pins"
	"github.com/cairn-fed/cairn/node/repo"
)

// servePins starts the IPFS Pinning Service API on pins.listen, with the
// libp2p host its clients connect to on the same IP, and returns the
// function that stops both.
func servePins(r *repo.Repo, n *node.Node, srv *api.Server, logger *slog.Logger) (func(), error) {
	ap, err := netip.ParseAddrPort(r.Config.Pins.Listen)
	if err != nil {
		return nil, fmt.Errorf("pins.listen: %w", err)
	}
	family := "ip4"
	if ap.Addr().Is6() {
		family = "ip6"
	}
	if err := n.StartOrigins([]string{fmt.Sprintf("/%s/%s/tcp/0", family, ap.Addr())}); err != nil {
		return nil, err
	}
	svc, err := pins.New(n.PinsDatastore(), n.PinsBackend(), logger)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", r.Config.Pins.Listen)
	if err != nil {
		svc.Close()
		return nil, fmt.Errorf("listen for the Pinning Service API on %s (pins.listen): %w", r.Config.Pins.Listen, err)
	}
	// It may face the internet: a client that sends or reads slowly holds
	// a connection for a bounded time (its requests and answers are small).
	hs := &http.Server{Handler: svc.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := hs.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("Pinning Service API stopped", "err", err)
		}
	}()
	addr := l.Addr().String()
	if err := r.WritePinsAddr(addr); err != nil {
		hs.Close()
		svc.Close()
		return nil, err
	}
	n.SetPinsAPI("http://" + addr)
	srv.SetPins(svc)
	logger.Info("Pinning Service API listening", "addr", addr)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		svc.Close()
		_ = r.RemovePinsAddr()
	}, nil
}
