package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/internal/atomicfile"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/api"
	"github.com/cairn-fed/cairn/node/repo"
)

func newFederationCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "federation",
		Short: "Create, join and administer the backup federation this node belongs to",
	}
	cmd.AddCommand(newFedCreateCommand(g), newFedAdmitCommand(g), newFedJoinCommand(g),
		newFedRevokeCommand(g), newFedRenewCommand(g), newFedShowCommand(g), newFedExportCommand(g), newFedImportCommand(g),
		newFedPSKCommand(), newFedTakedownCommand(g))
	cmd.AddCommand(newFedFormCommand(g), newFedRequestCommand(g))
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
	cmd.Flags().BoolVar(&req.Readmit, "readmit", false, "admit a peer that was revoked, lifting its revocation")
	cmd.Flags().StringVar(&req.For, "for", "", "end the membership this long after now unless renewed (e.g. 720h; default: for good)")
	return cmd
}

func newFedRenewCommand(g *globals) *cobra.Command {
	var req api.FederationRequest
	cmd := &cobra.Command{
		Use:   "renew PEER_ID [--for DURATION]",
		Short: "Set when a member's membership ends: --for this long from now, or for good; an expired member comes back",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.PeerID = args[0]
			return federationCall(g, cmd, "renew", req)
		},
	}
	cmd.Flags().StringVar(&req.For, "for", "", "how long from now (e.g. 720h); leave it out for a membership that does not end")
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
		remove         bool
		out            string
		passphraseFile string
	)
	cmd := &cobra.Command{
		Use:   "export-authority [-o FILE [--remove]]",
		Short: "Save the federation authority key (to keep offline); --remove then deletes it from this node",
		Long: "Reads the authority key from the repository. When the repository's keys are sealed with a\n" +
			"passphrase (cairn init --passphrase), the passphrase is asked for (or read from\n" +
			"CAIRN_PASSPHRASE or --passphrase-file): the API token alone never yields the key.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if remove && out == "" {
				return fmt.Errorf("federation export-authority: --remove needs -o FILE, so the key is safely on disk before this node forgets it")
			}
			r, err := g.openRepo()
			if err != nil {
				return err
			}
			key, err := readAuthority(r, passphraseFile)
			if err != nil {
				return fmt.Errorf("federation export-authority: %w", err)
			}
			if out == "" {
				ans := api.KeyAnswer{Key: key}
				return g.print(cmd.OutOrStdout(), ans, func() { fmt.Fprint(cmd.OutOrStdout(), ans.Key) })
			}
			if err := saveSecret(out, key); err != nil {
				return fmt.Errorf("federation export-authority: %w", err)
			}
			if remove {
				if err := removeAuthority(cmd, r); err != nil {
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
	cmd.Flags().StringVar(&passphraseFile, "passphrase-file", "", "read the repository's passphrase from this file")
	return cmd
}

// readAuthority reads the authority key from the repository. Where the
// repository's keys are sealed, the passphrase is required, also for an
// authority key a node from before sealing left bare (the daemon seals it
// when it next starts).
func readAuthority(r *repo.Repo, passphraseFile string) (string, error) {
	if !r.OwnerProtected() && !r.AuthorityProtected() {
		text, _, err := r.Authority(nil)
		return text, err
	}
	pass, err := readPassphrase(passphraseFile, false)
	if err != nil {
		return "", err
	}
	text, sealed, err := r.Authority(pass)
	if err == nil && !sealed {
		_, err = r.Owner(pass) // the passphrase is checked all the same
	}
	return text, err
}

// removeAuthority makes the node forget the authority key: through the
// daemon when it runs (it holds the key in memory), else in the repository.
func removeAuthority(cmd *cobra.Command, r *repo.Repo) error {
	c, err := api.Dial(r)
	if err == nil {
		err = c.Federation(cmd.Context(), "authority/remove", api.FederationRequest{}, nil)
	}
	if errors.Is(err, repo.ErrDaemonNotRunning) {
		return r.RemoveAuthority()
	}
	return err
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
			expiry := ""
			if m.Expires != nil {
				expiry = "  (member until " + m.Expires.UTC().Format(time.RFC3339) + "; `cairn federation renew` extends it)"
			}
			fmt.Fprintf(w, "    %-20s %s%s%s\n", m.Operator, m.PeerID, map[bool]string{true: "  (this node)"}[m.Self], expiry)
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
