package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
)

func newStatusCommand(g *globals) *cobra.Command {
	var all bool
	var limit int
	cmd := &cobra.Command{
		Use:   "status [CID]",
		Short: "Say whether objects are safe, and where: verified copies on independent operators",
		Long: "Status answers from this node's replica ledger, without asking other nodes.\n" +
			"With a CID it describes that object and its holders. Without one it counts\n" +
			"every object this node knows of by state and lists the most urgent first\n" +
			"(lost, at risk, local only, replicating, deleting, backed up, deleted):\n" +
			"the first --limit of them, or every object in CID order with --all.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return fmt.Errorf("--limit must be at least 1, got %d", limit)
			}
			if all && limit > 0 {
				return errors.New("--all lists every object: leave out --limit")
			}
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
			var ov node.StatusOverview
			if all {
				ov, err = c.StatusAll(cmd.Context())
			} else {
				ov, err = c.StatusPage(cmd.Context(), netstat.PageCursor{}, limit)
			}
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), ov, func() { printOverview(cmd, ov) })
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "list every object, in CID order")
	cmd.Flags().IntVar(&limit, "limit", 0, "how many of the most urgent objects to list (default 50, at most 1000)")
	return cmd
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
	fmt.Fprint(out, ov.Summary)
	if age := time.Since(ov.AsOf); age >= staleOverview {
		fmt.Fprintf(out, " (counted %s ago)", age.Round(time.Second))
	}
	fmt.Fprintln(out)
	if ov.Tally.Total() == 0 {
		fmt.Fprintln(out, noObjectsYet)
	}
	if len(ov.Objects) == 0 {
		return
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CID\tSTATE\tCOPIES\tNAME")
	for _, o := range ov.Objects {
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\n", o.CID, o.State, o.Copies, o.Target, o.Name)
	}
	tw.Flush()
	if more := ov.Tally.Total() - len(ov.Objects); more > 0 && ov.Next.String() != "" {
		fmt.Fprintf(out, "... and %d more: --limit N lists more of the most urgent, --all lists every object\n", more)
	}
}

// staleOverview is the age from which the overview says when its tally
// was counted: over a large ledger a count is reused for a while.
const staleOverview = 5 * time.Second
