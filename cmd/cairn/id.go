package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newIDCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "id",
		Short: "Print this node's peer ID and listen addresses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			id, err := c.ID(cmd.Context())
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), id, func() {
				fmt.Fprintln(cmd.OutOrStdout(), id.PeerID)
				for _, a := range id.Addrs {
					fmt.Fprintln(cmd.OutOrStdout(), "  "+a)
				}
				if id.PinsAPI != "" {
					fmt.Fprintln(cmd.OutOrStdout(), "Pinning Service API: "+id.PinsAPI)
				}
			})
		},
	}
}
