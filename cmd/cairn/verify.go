package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/node"
)

func newVerifyCommand(g *globals) *cobra.Command {
	var req node.DrillRequest
	cmd := &cobra.Command{
		Use:   "verify [CAPABILITY...] [--sample N | --all]",
		Short: "Restore drill: read objects back from the other members, check and decrypt every byte",
		Long: "Verify does what a restore on a new machine would, and keeps nothing: it fetches\n" +
			"objects from the other members only (never from this node's own blocks), checks\n" +
			"every block against its ID and decrypts every chunk. It reads the capabilities\n" +
			"given, or a random sample of the objects you added here (--sample, default 10),\n" +
			"or all of them (--all), and says for each who sent it. It fails if any object\n" +
			"does not read back.",
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Capabilities = args
			if len(args) > 0 && (req.All || cmd.Flags().Changed("sample")) {
				return fmt.Errorf("verify: name capabilities, or use --sample or --all, not both")
			}
			if req.Sample < 1 {
				return fmt.Errorf("verify: --sample must be 1 or more, got %d", req.Sample)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			d, err := c.Verify(cmd.Context(), req)
			if err != nil {
				return fmt.Errorf("verify: %w", err)
			}
			if err := g.print(cmd.OutOrStdout(), d, func() { printDrill(cmd.OutOrStdout(), d) }); err != nil {
				return err
			}
			if d.Failed > 0 {
				return fmt.Errorf("verify: %d of %d objects did not read back from the other members", d.Failed, len(d.Objects))
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&req.Sample, "sample", 10, "how many of your objects to read, picked at random")
	cmd.Flags().BoolVar(&req.All, "all", false, "read every object you added here")
	return cmd
}

// provedOperators names the operators whose copies passed their proof.
func provedOperators(hs []node.HolderProof) string {
	var ops []string
	for _, h := range hs {
		if h.Result == "ok" {
			ops = append(ops, h.Operator)
		}
	}
	return strings.Join(ops, ", ")
}

// printDrill writes one line per object and a summary.
func printDrill(w io.Writer, d node.Drill) {
	for _, o := range d.Objects {
		name := o.Name
		if name == "" {
			name = o.CID
		}
		if o.Error != "" {
			fmt.Fprintf(w, "FAIL  %s  %s: %s\n", name, o.CID, o.Error)
			continue
		}
		from := "nobody"
		if len(o.From) > 0 {
			from = strings.Join(o.From, ", ")
		}
		fmt.Fprintf(w, "ok    %s  %s  %s from %s in %s\n", name, o.CID, humanBytes(o.Bytes), from, o.Took.Round(time.Millisecond))
		for _, h := range o.Holders {
			if !h.Failed && h.Result != "ok" {
				fmt.Fprintf(w, "      the copy on %s was not proved: %s\n", h.Operator, h.Result)
			}
		}
		if proved := provedOperators(o.Holders); proved != "" {
			fmt.Fprintf(w, "      copies proved intact by %s\n", proved)
		}
	}
	fmt.Fprintf(w, "Verified %d objects from the other members: %d read back, %d failed.\n", len(d.Objects), d.Passed, d.Failed)
}
