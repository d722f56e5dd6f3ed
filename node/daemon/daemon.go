// Package daemon runs a node as a long-lived process: it locks the
// repository, starts the node and its API, records the API address for the
// CLI, and shuts everything down in order when its context ends.
package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/cairn-fed/cairn/internal/config"
	"github.com/cairn-fed/cairn/internal/keys"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/api"
	"github.com/cairn-fed/cairn/node/repo"
)

// Options configure a daemon run.
type Options struct {
	Owner *keys.Owner
	// Passphrase is the one that unlocked Owner (nil if none); the node
	// seals the federation authority key under it.
	Passphrase []byte
	Logger     *slog.Logger
	// MetricsReady, when set, is called with the address the metrics
	// listener got (metrics.address), before Ready.
	MetricsReady func(addr string)
	// Ready, when set, is called once the node and its API are up.
	Ready func(id node.Identity, apiAddr string)
}

// Run serves the repository's node until ctx ends.
func Run(ctx context.Context, r *repo.Repo, opts Options) error {
	lock, err := r.Lock()
	if err != nil {
		return err
	}
	defer lock.Close()
	n, err := node.New(r, node.Options{Owner: opts.Owner, Passphrase: opts.Passphrase, Logger: opts.Logger})
	if err != nil {
		return err
	}
	defer func() {
		if err := n.Close(); err != nil && opts.Logger != nil {
			opts.Logger.Warn("the node did not close cleanly", "err", err)
		}
	}()
	return serve(ctx, r, n, opts)
}

func serve(ctx context.Context, r *repo.Repo, n *node.Node, opts Options) error {
	token, err := r.Token()
	if err != nil {
		return err
	}
	if len(token) < 32 {
		return fmt.Errorf("the API token in %s is missing or too short (%d characters); it guards the API, so the daemon will not start: restore the file, or write 64 random hex characters to it", r.Path(repo.TokenFile), len(token))
	}
	l, err := net.Listen("tcp", r.Config.API.Address)
	if err != nil {
		return fmt.Errorf("listen for the API on %s (api.address): %w", r.Config.API.Address, err)
	}
	srv := api.NewServer(n, token, opts.Logger)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	if err := r.WriteAPIAddr(l.Addr().String()); err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	defer r.RemoveAPIAddr()
	defer serveLocal(r, srv, opts.Logger)()
	stopMetrics, err := startMetrics(r, n, opts)
	if err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	defer stopMetrics()
	if r.Config.Pins.Listen != "" {
		stop, err := servePins(r, n, srv, opts.Logger)
		if err != nil {
			srv.Shutdown(context.Background())
			return err
		}
		defer stop()
	}
	n.Bootstrap(ctx)
	if opts.Ready != nil {
		opts.Ready(n.ID(), l.Addr().String())
	}
	select {
	case <-ctx.Done():
	case err := <-served:
		srv.Shutdown(context.Background()) // the socket's listener too
		return err
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// startMetrics serves metrics on metrics.address, when it is set, and
// records the address it got in the repository's metrics file. The
// function it returns stops the listener and removes the file.
func startMetrics(r *repo.Repo, n *node.Node, opts Options) (stop func(), err error) {
	cfg := r.Config.Metrics
	if cfg.Address == "" {
		return func() {}, nil
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	token := ""
	if cfg.Auth == config.MetricsAuthToken {
		if token, err = r.MetricsToken(); err != nil {
			return nil, err
		}
	}
	l, err := net.Listen("tcp", cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics on %s (metrics.address): %w", cfg.Address, err)
	}
	srv := api.NewMetricsServer(n, token, logger)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); err != nil {
			logger.Error("metrics listener stopped", "addr", l.Addr().String(), "err", err)
		}
	}()
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
		r.RemoveMetricsAddr()
	}
	if err := r.WriteMetricsAddr(l.Addr().String()); err != nil {
		stop()
		return nil, err
	}
	logger.Info("metrics listener", "addr", l.Addr().String(), "auth", cfg.Auth)
	if opts.MetricsReady != nil {
		opts.MetricsReady(l.Addr().String())
	}
	return stop, nil
}

// maxSocketPath is the longest path a Unix socket may have (sun_path,
// with its terminating NUL).
const maxSocketPath = 107

// serveLocal serves the API on the repository's Unix socket too, where a
// client on this machine passes the files it adds instead of streaming
// them. Without the socket (a path too long, a filesystem without
// sockets) clients stream, so a failure is logged, not fatal. The
// function it returns removes the socket; srv's Shutdown closes it.
func serveLocal(r *repo.Repo, srv *api.Server, logger *slog.Logger) func() {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	path := r.Path(repo.SocketFile)
	if len(path) > maxSocketPath {
		logger.Info("no API socket: the repository's path is too long for one; adds stream their files", "path", path)
		return func() {}
	}
	_ = os.Remove(path) // left by a daemon that was killed: this one holds the repository's lock
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err == nil {
		err = os.Chmod(path, 0o600)
	}
	if err != nil {
		logger.Warn("no API socket; adds stream their files", "path", path, "err", err)
		if l != nil {
			l.Close()
		}
		return func() {}
	}
	l.SetUnlinkOnClose(false)
	go func() {
		if err := srv.ServeLocal(l); err != nil {
			logger.Warn("API socket stopped; adds stream their files", "err", err)
		}
	}()
	return func() { _ = os.Remove(path) }
}
