package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/internal/demo"
)

func newDemoCommand(g *globals) *cobra.Command {
	opts := demo.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Watch a few Cairn nodes on this machine store and fetch a file (no setup)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := g.logger(os.Stderr)
			if err != nil {
				return err
			}
			if g.logLevel == "info" {
				logger, _ = (&globals{logLevel: "warn"}).logger(os.Stderr)
			}
			opts.Logger = logger
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return demo.Run(ctx, cmd.OutOrStdout(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Nodes, "nodes", opts.Nodes, "how many nodes to start")
	cmd.Flags().BoolVar(&opts.Keep, "keep", false, "keep the nodes and the dashboard running after the tour, until Ctrl-C")
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "keep the nodes' repositories here instead of a temporary directory")
	return cmd
}
