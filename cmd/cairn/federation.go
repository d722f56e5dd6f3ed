package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/internal/atomicfile"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/api"
)

func newFederationCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "federation",
		Short: "Create, join and administer the backup federation this node belongs to",
	}
	cmd.AddCommand(newFedCreateCommand(g), newFedAdmitCommand(g), newFedJoinCommand(g),
		newFedRevokeCommand(g), newFedShowCommand(g), newFedExportCommand(g), newFedImportCommand(g),
		newFedPSKCommand(), newFedTakedownCommand(g))
	return cmd
}

// federationCall runs one federation operation against the daemon and
// prints the federation it leaves behind.
func federationCall(g *globals, cmd *cobra.Command, op string, req api.FederationRequest) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	var info node.FederationInfo
	if err := c.Federation(cmd.Context(), op, req, &info); err != nil {
		return fmt.Errorf("federation %s: %w", op, err)
	}
	return g.print(cmd.OutOrStdout(), info, func() { printFederation(cmd.OutOrStdout(), info) })
}

func newFedCreateCommand(g *globals) *cobra.Command {
	var req api.FederationRequest
	cmd := &cobra.Command{
		Use:   "create NAME --operator ORG --region REGION",
		Short: "Found a federation with this node as its first member; this node keeps the authority key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = args[0]
			return federationCall(g, cmd, "create", req)
		},
	}
	operatorRegionFlags(cmd, &req)
	return cmd
}

func operatorRegionFlags(cmd *cobra.Command, req *api.FederationRequest) {
	cmd.Flags().StringVar(&req.Operator, "operator", "", "organisation that runs the node (required)")
	cmd.Flags().StringVar(&req.Region, "region", "", "region the node stands in (required)")
	cmd.MarkFlagRequired("operator")
	cmd.MarkFlagRequired("region")
}

func newFedAdmitCommand(g *globals) *cobra.Command {
	var req api.FederationRequest
	cmd := &cobra.Command{
		Use:   "admit PEER_ID --operator ORG --region REGION",
		Short: "Admit a node (its peer ID from `cairn id`) and print its join token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			req.PeerID = args[0]
			var ans api.TokenAnswer
			if err := c.Federation(cmd.Context(), "admit", req, &ans); err != nil {
				return fmt.Errorf("federation admit: %w", err)
			}
			return g.print(cmd.OutOrStdout(), ans, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "Admitted %s (%s, %s). On that node, run:\n\n  cairn federation join %s\n\nThe token is valid for %s.\n",
					req.PeerID, req.Operator, req.Region, ans.Token, node.JoinTokenLifetime)
			})
		},
	}
	operatorRegionFlags(cmd, &req)
	return cmd
}

func newFedJoinCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "join TOKEN",
		Short: "Join a federation with the token its admin printed for this node",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return federationCall(g, cmd, "join", api.FederationRequest{Token: args[0]})
		},
	}
}

func newFedRevokeCommand(g *globals) *cobra.Command {
	var req api.FederationRequest
	cmd := &cobra.Command{
		Use:   "revoke [PEER_ID] [--operator ORG]",
		Short: "Remove a member, or every member of an operator; they are disconnected everywhere",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				req.PeerID = args[0]
			}
			if (req.PeerID == "") == (req.Operator == "") {
				return fmt.Errorf("federation revoke: name either a PEER_ID or --operator ORG")
			}
			return federationCall(g, cmd, "revoke", req)
		},
	}
	cmd.Flags().StringVar(&req.Operator, "operator", "", "revoke every member of this operator")
	cmd.Flags().StringVar(&req.Reason, "reason", "", "why, recorded in the roster")
	return cmd
}

func newFedShowCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Print the federation: ID, name, roster version, members by operator and region",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			info, err := c.FederationShow(cmd.Context())
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), info, func() { printFederation(cmd.OutOrStdout(), info) })
		},
	}
}

func newFedExportCommand(g *globals) *cobra.Command {
	var (
		remove bool
		out    string
	)
	cmd := &cobra.Command{
		Use:   "export-authority [-o FILE [--remove]]",
		Short: "Save the federation authority key (to keep offline); --remove then deletes it from this node",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if remove && out == "" {
				return fmt.Errorf("federation export-authority: --remove needs -o FILE, so the key is safely on disk before this node forgets it")
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var ans api.KeyAnswer
			if err := c.Federation(cmd.Context(), "authority/export", api.FederationRequest{}, &ans); err != nil {
				return fmt.Errorf("federation export-authority: %w", err)
			}
			if out == "" {
				return g.print(cmd.OutOrStdout(), ans, func() { fmt.Fprint(cmd.OutOrStdout(), ans.Key) })
			}
			if err := saveSecret(out, ans.Key); err != nil {
				return fmt.Errorf("federation export-authority: %w", err)
			}
			if remove {
				if err := c.Federation(cmd.Context(), "authority/export", api.FederationRequest{Remove: true}, &ans); err != nil {
					return fmt.Errorf("federation export-authority: the key is saved in %s, but removing it from this node failed: %w", out, err)
				}
			}
			return g.print(cmd.OutOrStdout(), map[string]any{"file": out, "removed": remove}, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "Authority key saved in %s (mode 0600).\n", out)
				if remove {
					fmt.Fprintln(cmd.OutOrStdout(), "It is no longer on this node: keep the file offline, and import it to admit or revoke members.")
				}
			})
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the key to this new file (mode 0600) instead of printing it")
	cmd.Flags().BoolVar(&remove, "remove", false, "after saving it, delete the key from this node")
	return cmd
}

// saveSecret writes text to a new file readable only by its owner, syncs
// it, and reads it back, so a caller may then delete the only other copy.
func saveSecret(path, text string) error {
	if err := atomicfile.Create(path, []byte(text), 0o600); err != nil {
		return err
	}
	back, err := os.ReadFile(path)
	if err != nil || string(back) != text {
		return fmt.Errorf("%s does not read back as written: %v", path, err)
	}
	return nil
}

func newFedImportCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "import-authority FILE|-",
		Short: "Bring an exported authority key back onto this node",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			text, err := readArgFile(args[0])
			if err != nil {
				return err
			}
			if err := c.Federation(cmd.Context(), "authority/import", api.FederationRequest{Key: text}, nil); err != nil {
				return fmt.Errorf("federation import-authority: %w", err)
			}
			return g.print(cmd.OutOrStdout(), map[string]bool{"imported": true}, func() {
				fmt.Fprintln(cmd.OutOrStdout(), "Authority key imported: this node can admit and revoke members again.")
			})
		},
	}
}

func readArgFile(name string) (string, error) {
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	return string(data), nil
}

func printFederation(w io.Writer, info node.FederationInfo) {
	fmt.Fprintf(w, "Federation %q\n  ID: %s\n  Roster version: %d\n", info.Name, info.ID, info.Version)
	if info.HasAuthority {
		fmt.Fprintln(w, "  This node holds the authority key.")
	}
	fmt.Fprintf(w, "  %d member(s), %d operator(s), %d region(s)\n", len(info.Members), len(info.ByOperator), len(info.ByRegion))
	byRegion := map[string][]node.MemberInfo{}
	for _, m := range info.Members {
		byRegion[m.Region] = append(byRegion[m.Region], m)
	}
	regions := make([]string, 0, len(byRegion))
	for r := range byRegion {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	for _, r := range regions {
		fmt.Fprintf(w, "  %s\n", r)
		for _, m := range byRegion[r] {
			fmt.Fprintf(w, "    %-20s %s%s\n", m.Operator, m.PeerID, map[bool]string{true: "  (this node)"}[m.Self])
		}
	}
	for _, v := range info.Revoked {
		fmt.Fprintf(w, "  revoked: %s %s\n", v.PeerID, strings.TrimSpace(v.Reason))
	}
}

func newFedPSKCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "new-psk",
		Short: "Print a new libp2p private-network key, for swarm.psk_file on every member",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			psk, err := node.NewPSK()
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), psk)
			return nil
		},
	}
}
