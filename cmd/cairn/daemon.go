package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/internal/keys"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/daemon"
	"github.com/cairn-fed/cairn/node/repo"
)

func newDaemonCommand(g *globals) *cobra.Command {
	var (
		passphraseFile string
		initOpts       repo.InitOptions
		initIfMissing  bool
		metrics        metricsFlags
	)
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Run the node: libp2p host, DHT, bitswap, block store and API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if initIfMissing {
				initOpts.Metrics, initOpts.MetricsAuth = metrics.address, metrics.auth
				if err := initIfAbsent(g, initOpts); err != nil {
					return err
				}
			}
			r, err := g.openRepo()
			if err != nil {
				return err
			}
			owner, pass, err := unlockOwner(r, passphraseFile)
			if err != nil {
				return err
			}
			logger, err := g.logger(os.Stderr)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out := cmd.OutOrStdout()
			err = daemon.Run(ctx, r, daemon.Options{Owner: owner, Passphrase: pass, Logger: logger, MetricsReady: func(addr string) {
				fmt.Fprintf(out, "Metrics on http://%s/metrics\n", addr)
			}, Ready: func(id node.Identity, apiAddr string) {
				fmt.Fprintf(out, "Cairn node %s\nListening on:\n  %s\nAPI on http://%s\nDaemon is ready.\n", id.PeerID, strings.Join(id.Addrs, "\n  "), apiAddr)
			}})
			if err == nil {
				fmt.Fprintln(out, "Daemon stopped.")
			}
			return err
		},
	}
	cmd.Flags().StringVar(&passphraseFile, "passphrase-file", "", "read the owner key's passphrase from this file")
	cmd.Flags().BoolVar(&initIfMissing, "init", false, "create the repository first if there is none (for containers); never touches an existing one")
	cmd.Flags().StringSliceVar(&initOpts.Listen, "listen", nil, "with --init: libp2p listen multiaddr (repeatable)")
	cmd.Flags().StringVar(&initOpts.API, "api", "", "with --init: API host:port on loopback")
	metrics.add(cmd, "with --init: ")
	return cmd
}

// initIfAbsent creates the repository the flags name unless it exists.
func initIfAbsent(g *globals, opts repo.InitOptions) error {
	dir, err := repo.ResolveDir(g.repoDir)
	if err != nil {
		return err
	}
	if _, err := repo.Open(dir); err == nil || !errors.Is(err, repo.ErrNotInitialised) {
		return err
	}
	_, err = repo.Init(dir, opts)
	return err
}

// unlockOwner opens the owner key, asking for its passphrase if it is
// sealed, and returns the passphrase too (nil if none): the daemon seals
// the federation authority key under it.
func unlockOwner(r *repo.Repo, passphraseFile string) (*keys.Owner, []byte, error) {
	if !r.OwnerProtected() {
		o, err := r.Owner(nil)
		return o, nil, err
	}
	pass, err := readPassphrase(passphraseFile, false)
	if err != nil {
		return nil, nil, err
	}
	o, err := r.Owner(pass)
	return o, pass, err
}
