package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/node"
)

func newLsCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "ls",
		Short: "List the objects this node owns or holds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			objs, err := c.List(cmd.Context())
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), objs, func() { printObjects(cmd, objs) })
		},
	}
}

// noObjectsYet is what ls and status say on an empty node: the two ways
// an object gets here, adding it or fetching it by its capability.
const noObjectsYet = "No objects on this node yet. Add one with `cairn add PATH`, or fetch one with `cairn get CAPABILITY -o OUT`."

func printObjects(cmd *cobra.Command, objs []node.ObjectInfo) {
	if len(objs) == 0 {
		fmt.Fprintln(cmd.OutOrStdout(), noObjectsYet)
		return
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CID\tROLE\tSIZE\tENCRYPTION\tNAME")
	for _, o := range objs {
		enc := "encrypted"
		if !o.Encrypted {
			enc = "UNENCRYPTED"
		}
		name := o.Name
		if o.DAG != "" { // what IPFS tools know it by
			name = strings.TrimSpace(name + "  ipfs:" + o.DAG)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.ID, o.Role, humanBytes(o.Size), enc, name)
	}
	tw.Flush()
}

// humanBytes renders a byte count the way people read it.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
