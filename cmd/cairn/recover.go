package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/node"
)

func newRecoverCommand(g *globals) *cobra.Command {
	var in ownerKeyInput
	var at string
	cmd := &cobra.Command{
		Use:   "recover (--paper-key FILE | --share FILE... | --key-file FILE) [--at TIME]",
		Short: "After losing your machine: restore your objects, their names and your ownership from the owner key",
		Long: `Run on a fresh node (cairn init, cairn daemon) once it is admitted to the
federation (cairn id, then on the authority's node cairn federation admit, then
cairn federation join TOKEN here). Given the owner key — the paper key from
cairn key export (--paper-key - reads it from stdin), K shares from cairn key
split (--share, repeatable), or a copy of owner.key (--key-file) — it finds
the latest catalog of your objects that the members keep, makes this node the
owner's, and restores every object: listed with its name and capability,
fetched back to this node, and yours again to rm, undelete or re-add.
Objects no member holds any more are reported.

--at restores the listing as it was at a time (RFC 3339, e.g.
2026-12-01T09:00:00Z, or a duration ago, e.g. 36h): objects deleted since
are listed as deleted and can be undeleted while their trash window lasts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			when, err := parseAt(at, time.Now())
			if err != nil {
				return err
			}
			owner, err := in.read(cmd.InOrStdin())
			if err != nil {
				return fmt.Errorf("recover: %w", err)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			report, err := c.Recover(cmd.Context(), owner, when)
			if err != nil {
				return fmt.Errorf("recover: %w", err)
			}
			return g.print(cmd.OutOrStdout(), report, func() { printRecoverReport(cmd.OutOrStdout(), report) })
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "restore the listing as it was at this time (RFC 3339, or a duration ago such as 36h)")
	in.register(cmd.Flags())
	return cmd
}

// parseAt reads --at: empty is the latest (zero time), else an RFC 3339
// time or a duration before now.
func parseAt(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--at %q: give a time as RFC 3339 (2026-12-01T09:00:00Z) or a duration ago (36h)", s)
}

func printRecoverReport(w io.Writer, r node.RecoverReport) {
	fmt.Fprintf(w, "Owner key %s: catalog version %d, written %s, found on the members (%d answered).\n",
		r.Fingerprint, r.CatalogVersion, r.CatalogTime.Local().Format(time.DateTime), r.MembersAsked)
	if !r.At.IsZero() {
		fmt.Fprintf(w, "Listing as it was at %s.\n", r.At.Local().Format(time.DateTime))
	}
	fmt.Fprintf(w, "Restored %d objects:\n", len(r.Restored))
	for _, o := range r.Restored {
		state := ""
		if o.Deleted {
			state = "  (deleted: `cairn undelete " + o.CID + "` within its trash window)"
		}
		fmt.Fprintf(w, "  %s  %s%s\n", o.CID, displayName(o.Name), state)
	}
	if len(r.Unreachable) > 0 {
		fmt.Fprintf(w, "Could not restore %d objects:\n", len(r.Unreachable))
		for _, o := range r.Unreachable {
			fmt.Fprintf(w, "  %s  %s: %s\n", o.CID, displayName(o.Name), o.Error)
		}
	}
	fmt.Fprintln(w, "This node is now the owner's: `cairn ls` lists the objects, and rm, undelete and add work as before.")
}

func displayName(name string) string {
	if name == "" {
		return "(no name)"
	}
	return name
}

func newKeyImportCommand(g *globals) *cobra.Command {
	var in ownerKeyInput
	cmd := &cobra.Command{
		Use:   "import (--paper-key FILE | --share FILE... | --key-file FILE)",
		Short: "Make this node's owner key the one given (on a node whose owner has added nothing yet)",
		Long: `Makes the running daemon's owner key the one given, and stores it in the
repository (sealed under the daemon's passphrase, if it has one). Refused on
a node whose owner has added objects under another key. To get your objects'
listing back too, use cairn recover instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			owner, err := in.read(cmd.InOrStdin())
			if err != nil {
				return fmt.Errorf("key import: %w", err)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.ImportKey(cmd.Context(), owner); err != nil {
				return fmt.Errorf("key import: %w", err)
			}
			ans := map[string]string{"fingerprint": owner.Fingerprint()}
			return g.print(cmd.OutOrStdout(), ans, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "This node's owner key is now %s.\n", owner.Fingerprint())
			})
		},
	}
	in.register(cmd.Flags())
	return cmd
}

func newCatalogCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "catalog",
		Short: "Show the catalog of your objects that the federation keeps for `cairn recover`",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			info, err := c.Catalog(cmd.Context())
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), info, func() {
				w := cmd.OutOrStdout()
				if info.Version == 0 {
					fmt.Fprintln(w, "No catalog yet: it is written once you add an object.")
					return
				}
				fmt.Fprintf(w, "Catalog of owner key %s: version %d, written %s (object %s).\n", info.Owner, info.Version, info.WrittenAt.Local().Format(time.DateTime), info.Object)
				if info.Pending {
					fmt.Fprintln(w, "Changes since then go into the next version (catalog.interval).")
				}
				if info.Error != "" {
					fmt.Fprintf(w, "The last attempt to write a version failed: %s\n", info.Error)
				}
				fmt.Fprintf(w, "`cairn status %s` shows where it is kept.\n", info.Object)
			})
		},
	}
}
