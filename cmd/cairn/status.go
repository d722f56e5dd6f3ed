package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
)

func newStatusCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status [CID]",
		Short: "Say whether objects are safe, and where: verified copies on independent operators",
		Long: "Status answers from this node's replica ledger, without asking other nodes.\n" +
			"With a CID it describes that object and its holders; without one it counts\n" +
			"every object this node knows of by state.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				v, err := c.Status(cmd.Context(), args[0])
				if err != nil {
					return fmt.Errorf("status %s: %w", args[0], err)
				}
				return g.print(cmd.OutOrStdout(), v, func() { printObjectStatus(cmd, v) })
			}
			ov, err := c.StatusAll(cmd.Context())
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), ov, func() { printOverview(cmd, ov) })
		},
	}
}

func printObjectStatus(cmd *cobra.Command, v netstat.ObjectView) {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "%s: %s\n", v.State.Label(), v.Summary())
	if len(v.Holders) == 0 {
		return
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOLDER\tOPERATOR\tREGION\tSTATE\tVERIFIED\tNOTE")
	for _, h := range v.Holders {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", h.PeerID, h.Operator, h.Region, h.State, h.Age, h.Reason)
	}
	tw.Flush()
}

func printOverview(cmd *cobra.Command, ov node.StatusOverview) {
	out := cmd.OutOrStdout()
	fmt.Fprintln(out, ov.Summary)
	if len(ov.Objects) == 0 {
		return
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CID\tSTATE\tCOPIES\tNAME")
	for _, o := range ov.Objects {
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\n", o.CID, o.State, o.Copies, o.Target, o.Name)
	}
	tw.Flush()
}
