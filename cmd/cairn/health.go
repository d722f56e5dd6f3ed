package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newHealthCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "health",
		Short: "Report how this node is doing: members online, storage, challenges, repairs, deletions, flagged peers",
		Long: "Health reports this node from its own state, without asking other nodes:\n" +
			"members online, storage used and free, the challenges it sent and their\n" +
			"outcomes since it started, its repair queue, deletions some holder has not\n" +
			"acknowledged, peers flagged for failing challenges, ignoring tombstones or\n" +
			"sending more than this node accepts from one member (over_bound), and the\n" +
			"roster version.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			h, err := c.Health(cmd.Context())
			if err != nil {
				return fmt.Errorf("health: %w", err)
			}
			out := cmd.OutOrStdout()
			return g.print(out, h, func() { fmt.Fprintf(out, "node: %s\n%s\n", h.Node, h) })
		},
	}
}
