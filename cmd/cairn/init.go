package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/node/repo"
)

func newInitCommand(g *globals) *cobra.Command {
	var (
		listen         []string
		apiAddr        string
		pinsAddr       string
		protect        bool
		passphraseFile string
		metrics        metricsFlags
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a repository: node identity, owner key and config",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := repo.ResolveDir(g.repoDir)
			if err != nil {
				return err
			}
			var pass []byte
			if protect || passphraseFile != "" {
				if pass, err = readPassphrase(passphraseFile, true); err != nil {
					return err
				}
				if len(pass) == 0 {
					return errors.New("init: the passphrase is empty; nothing was written (leave out --passphrase to store the key unprotected)")
				}
			}
			r, err := repo.Init(dir, repo.InitOptions{Listen: listen, API: apiAddr, Pins: pinsAddr, Passphrase: pass, Metrics: metrics.address, MetricsAuth: metrics.auth})
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), map[string]any{"repo": r.Dir, "protected": len(pass) > 0}, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "Created a Cairn repository in %s.\n", r.Dir)
				if len(pass) > 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "The owner key is sealed with your passphrase; keep it safe, it cannot be recovered.")
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Start the node with: cairn daemon --repo %s\n", r.Dir)
			})
		},
	}
	cmd.Flags().StringSliceVar(&listen, "listen", nil, "libp2p listen multiaddr (repeatable; port 0 picks a free port)")
	cmd.Flags().StringVar(&apiAddr, "api", "", "API host:port on loopback (port 0 picks a free port)")
	cmd.Flags().StringVar(&pinsAddr, "pins-api", "", "serve the IPFS Pinning Service API on this host:port (config pins.listen; off by default)")
	cmd.Flags().BoolVar(&protect, "passphrase", false, "protect the owner key with a passphrase (prompted, or CAIRN_PASSPHRASE)")
	cmd.Flags().StringVar(&passphraseFile, "passphrase-file", "", "read the passphrase from this file")
	metrics.add(cmd, "")
	return cmd
}

// metricsFlags are the [metrics] choices init offers.
type metricsFlags struct{ address, auth string }

func (m *metricsFlags) add(cmd *cobra.Command, prefix string) {
	cmd.Flags().StringVar(&m.address, "metrics", "", prefix+"host:port that serves only /metrics, may be beyond loopback (metrics.address)")
	cmd.Flags().StringVar(&m.auth, "metrics-auth", "", prefix+`"token" (the repository's metrics.token) or "none" (metrics.auth)`)
}
