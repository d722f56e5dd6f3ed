package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
)

func newConnectCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "connect MULTIADDR",
		Short: "Connect to a peer, e.g. /ip4/192.0.2.7/tcp/4501/p2p/12D3KooW...",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.Connect(cmd.Context(), args[0]); err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), map[string]string{"connected": args[0]}, func() {
				fmt.Fprintln(cmd.OutOrStdout(), "Connected to", args[0])
			})
		},
	}
}

func newPeersCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "peers",
		Short: "List the federation's members (or, outside a federation, connected peers)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			members, err := c.Members(cmd.Context())
			if err != nil {
				return err
			}
			if len(members) == 0 { // no federation yet: the connected peers, in the same shape
				peers, err := c.Peers(cmd.Context())
				if err != nil {
					return err
				}
				now := time.Now()
				members = []node.MemberInfo{}
				for _, p := range peers {
					members = append(members, node.MemberInfo{PeerID: p.PeerID, Connected: true, LastSeen: &now, Addrs: p.Addrs})
				}
			}
			return g.print(cmd.OutOrStdout(), members, func() {
				if len(members) == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "No peers connected, and no federation yet: see `cairn federation --help`.")
					return
				}
				printMembers(cmd.OutOrStdout(), members)
			})
		},
	}
}

func printMembers(w io.Writer, members []node.MemberInfo) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PEER\tOPERATOR\tREGION\tCONNECTED\tLATENCY\tLAST SEEN")
	now := time.Now()
	for _, m := range members {
		conn, lat, seen := "no", "-", "never"
		switch {
		case m.Self:
			conn = "this node"
		case m.Connected:
			conn = "yes"
		}
		if m.LatencyMS > 0 {
			lat = fmt.Sprintf("%.1f ms", m.LatencyMS)
		}
		if m.LastSeen != nil {
			seen = netstat.Age(now.Sub(*m.LastSeen))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.PeerID, m.Operator, m.Region, conn, lat, seen)
	}
	tw.Flush()
}
