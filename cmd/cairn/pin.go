package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/node/api"
	"github.com/cairn-fed/cairn/node/origins"
)

func newPinCommand(g *globals) *cobra.Command {
	var req api.PinRequest
	var quiet bool
	cmd := &cobra.Command{
		Use:   "pin CID [--origin MULTIADDR|URL]...",
		Short: "Fetch an existing IPFS DAG (from Kubo, a cluster, a gateway) and keep it replicated",
		Long: `Fetches the DAG under CID from its origins and keeps it as an object of this
node's owner, replicated across the federation like an add. An origin is an
IPFS peer's multiaddr ending in /p2p/PEER_ID (for Kubo, one of ` + "`ipfs id`" + `'s
addresses), reached over the standard /ipfs/bitswap protocol from a separate
host that serves nothing and joins no public DHT; or a trustless gateway's URL
(https://host), asked for the DAG as a CAR. Every block is checked against its
CID. It gives up when no origin sends a block for fetch.stall_timeout, or
after fetch.timeout; nothing is kept then. The DAG must be of dag-pb and raw
blocks (UnixFS): what ` + "`ipfs add`" + ` makes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			req.CID = args[0]
			var onProgress func(origins.Progress)
			if isTerminal(os.Stderr) && !quiet {
				onProgress = func(p origins.Progress) {
					fmt.Fprintf(os.Stderr, "\r\033[Kfetched %d blocks, %s", p.Blocks, humanBytes(p.Bytes))
				}
				defer fmt.Fprint(os.Stderr, "\r\033[K")
			}
			res, err := c.Pin(cmd.Context(), req, onProgress)
			if err != nil {
				return fmt.Errorf("pin %s: %w", args[0], err)
			}
			return g.print(cmd.OutOrStdout(), res, func() {
				out := cmd.OutOrStdout()
				if quiet {
					fmt.Fprintln(out, res.CID)
					return
				}
				fmt.Fprintf(out, "Pinned %s (%s in %d blocks, %d fetched)\n", res.DAG, humanBytes(res.Size), res.Chunks, res.New)
				fmt.Fprintf(out, "Object ID:  %s\n", res.CID)
				fmt.Fprintf(out, "Capability: %s\n", res.Capability)
			})
		},
	}
	cmd.Flags().StringArrayVar(&req.Origins, "origin", nil, "where to fetch from: a multiaddr with /p2p/PEER_ID, or a gateway URL (repeatable)")
	cmd.Flags().IntVar(&req.Replicas, "replicas", 0, "copies to keep on distinct operators (default from config add.replicas)")
	cmd.Flags().StringVar(&req.Name, "name", "", "name shown to you in `cairn ls`")
	quietFlag(cmd, &quiet)
	return cmd
}
