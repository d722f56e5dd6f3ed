package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/internal/atomicfile"
	"github.com/cairn-fed/cairn/internal/keys"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/repo"
	"github.com/cairn-fed/cairn/node/snapshot"
)

func newSnapshotCommand(g *globals) *cobra.Command {
	var (
		out        string
		blocks     bool
		federation bool
	)
	cmd := &cobra.Command{
		Use:   "snapshot (-o FILE|DIR/ | --federation) [--blocks]",
		Short: "Write a point-in-time snapshot of this node (index, ledger, tombstones, roster, events, config; keys sealed)",
		Long: `Writes a consistent snapshot of the running node as one tar file: its object
index, replication ledger, tombstones and every other record of its metadata
store, the federation roster, the event log up to one cursor, and its config.
The node's identity key and the federation authority key are sealed under a
key derived from the owner key; the owner key file is included only when a
passphrase seals it. --blocks adds every stored block (ciphertext), so the
snapshot restores without fetching; without it, a restored node fetches its
copies back from the members.

-o FILE writes that file; -o DIR/ (or an existing directory) writes
DIR/cairn-snapshot-TIME.tar; -o - writes to standard output. The file appears
only once the whole snapshot is written. The daemon keeps running throughout.
--federation stores the snapshot in the federation instead, as an object of
the owner's that replicates like any other (the newest snapshot.keep are
kept there); cairn get CAPABILITY -o FILE brings it back from any node that
holds the owner key. Bring a node back with cairn restore FILE --repo NEWDIR.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (out == "") == !federation {
				return errors.New("snapshot: say where to write with -o FILE, -o DIR/ or -o -, or store it in the federation with --federation")
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if federation {
				res, err := c.StoreSnapshot(cmd.Context(), blocks)
				if err != nil {
					return fmt.Errorf("snapshot: %w", err)
				}
				return g.print(cmd.OutOrStdout(), res, func() {
					fmt.Fprintf(cmd.OutOrStdout(), "Stored snapshot %s in the federation as %s (%s).\nRead it back with: cairn get %s -o %s\n",
						res.Name, res.CID, humanBytes(res.Size), res.Capability, res.Name)
				})
			}
			stream, err := c.Snapshot(cmd.Context(), blocks)
			if err != nil {
				return fmt.Errorf("snapshot: %w", err)
			}
			defer stream.Close()
			if out == "-" {
				if _, err := io.Copy(cmd.OutOrStdout(), stream); err != nil {
					return fmt.Errorf("snapshot: %w", err)
				}
				return nil
			}
			path := snapshotPath(out, time.Now())
			atomicfile.RemovePartial(path)
			if _, err := atomicfile.WriteFrom(path, stream, 0o600); err != nil {
				return fmt.Errorf("snapshot: %w", err)
			}
			sum := stream.Summary()
			return g.print(cmd.OutOrStdout(), snapshotAnswer{Output: path, Summary: sum}, func() {
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "Wrote %s: %s\n", path, describeSnapshot(sum))
				fmt.Fprintf(w, "Restore it with: cairn restore %s --repo NEWDIR\n", path)
			})
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the file to write, a directory ending in / to name one in, or - for standard output")
	cmd.Flags().BoolVar(&blocks, "blocks", false, "include every stored block")
	cmd.Flags().BoolVar(&federation, "federation", false, "store the snapshot in the federation as an object of the owner's")
	return cmd
}

// snapshotAnswer is the --json output of snapshot and restore.
type snapshotAnswer struct {
	Output string `json:"output"`
	snapshot.Summary
}

// snapshotPath is the file -o names: in a directory, a name with the time.
func snapshotPath(out string, now time.Time) string {
	if info, err := os.Stat(out); strings.HasSuffix(out, "/") || (err == nil && info.IsDir()) {
		return filepath.Join(out, node.SnapshotName(now))
	}
	return out
}

func describeSnapshot(sum snapshot.Summary) string {
	h := sum.Header
	fed := ""
	if h.Federation != "" {
		fed = " of federation " + h.Federation
	}
	content := fmt.Sprintf("%d files", sum.Files)
	if h.Blocks {
		content += fmt.Sprintf(", %d blocks", sum.Blocks)
	}
	return fmt.Sprintf("node %s%s as it was at %s (event cursor %s); %s, %s",
		h.Node, fed, h.Created.Local().Format(time.DateTime), h.Cursor, content, humanBytes(sum.Bytes))
}

func newRestoreCommand(g *globals) *cobra.Command {
	var (
		in             ownerKeyInput
		passphraseFile string
	)
	cmd := &cobra.Command{
		Use:   "restore SNAPSHOT|- --repo NEWDIR",
		Short: "Bring a node back from a snapshot, into a new repository",
		Long: `Restores a snapshot written by cairn snapshot into the repository directory
--repo names, which must be new or empty; run it with the daemon stopped. It
takes the owner key: the passphrase that sealed the snapshot's owner key
(--passphrase-file, CAIRN_PASSPHRASE, or a prompt), or, for a repository that
had no passphrase, the paper key (--paper-key, --share or --key-file). Every
entry is checked against the snapshot's manifest; the repository appears only
once the whole snapshot is restored.

Then start the daemon (cairn daemon --repo NEWDIR): the node is the member it
was, and catches up with the federation, learning the objects its owner added
and the deletions made since the snapshot. Nothing deleted before it comes
back. Start it only where the node it was taken from runs no more.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := repo.ResolveDir(g.repoDir)
			if err != nil {
				return err
			}
			if args[0] == "-" && (in.paperKey == "-" || slices.Contains(in.shares, "-")) {
				return errors.New("restore: the snapshot and the owner key cannot both come from standard input: put one in a file")
			}
			src := cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return fmt.Errorf("restore: %w", err)
				}
				defer f.Close()
				src = f
			}
			unlock := func(h snapshot.Header, ownerFile []byte) (*keys.Owner, error) {
				switch {
				case in.given():
					return in.read(cmd.InOrStdin())
				case ownerFile == nil:
					return nil, errors.New("this snapshot holds no owner key (its repository had no passphrase): give it with --paper-key FILE, --share FILE or --key-file FILE")
				}
				pass, err := readPassphrase(passphraseFile, false)
				if err != nil {
					return nil, err
				}
				return keys.Unmarshal(ownerFile, pass)
			}
			sum, err := snapshot.Restore(cmd.Context(), src, dir, unlock)
			if err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			return g.print(cmd.OutOrStdout(), snapshotAnswer{Output: dir, Summary: sum}, func() {
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "Restored %s into %s.\n", describeSnapshot(sum), dir)
				for _, note := range sum.Notes {
					fmt.Fprintf(w, "Note: %s.\n", note)
				}
				fmt.Fprintf(w, "Start it with: cairn daemon --repo %s\n", dir)
				fmt.Fprintln(w, "It catches up with the federation: objects added and deleted since the snapshot.")
				fmt.Fprintln(w, "Start it only where the node it was taken from runs no more: both would be the same member.")
			})
		},
	}
	cmd.Flags().StringVar(&passphraseFile, "passphrase-file", "", "read the passphrase that seals the snapshot's owner key from this file")
	in.register(cmd.Flags())
	return cmd
}
