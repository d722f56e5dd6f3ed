package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/internal/atomicfile"
	"github.com/cairn-fed/cairn/node"
)

func newExportCommand(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export CID|CAPABILITY -o FILE.car",
		Short: "Write an object's whole DAG as a CAR bundle (ciphertext for encrypted objects), for `ipfs dag import` or `cairn import`",
		Long: `Writes every block of the object as a CARv1 bundle with the object as its one
root, fetching from the members what this node lacks. An encrypted object's
bundle holds ciphertext only: it is safe to hand to anyone, and only the
capability opens it. A public object (added with --unencrypted) or an imported
DAG is written as its plain UnixFS DAG, rooted at its IPFS CID, which may also
be given: ` + "`ipfs dag import`" + ` then pins what ` + "`ipfs cat`" + ` reads. -o - writes to
standard output. The file appears only once the whole bundle is written.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("export: say where to write with -o FILE.car (or -o - for standard output)")
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			stream, err := c.Export(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			defer stream.Close()
			if out == "-" {
				if _, err := io.Copy(cmd.OutOrStdout(), stream); err != nil {
					return fmt.Errorf("export: %w", err)
				}
				return nil
			}
			size, err := atomicfile.WriteFrom(out, stream, 0o644)
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			return g.print(cmd.OutOrStdout(), map[string]any{"output": out, "bytes": size}, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "Wrote %s (%d bytes)\n", out, size)
			})
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the CAR file to write, or - for standard output")
	return cmd
}

func newImportCommand(g *globals) *cobra.Command {
	var opts node.ImportOptions
	var quiet bool
	cmd := &cobra.Command{
		Use:   "import FILE.car|-",
		Short: "Store the DAG of a CAR bundle (from `ipfs dag export` or `cairn export`) and replicate it",
		Long: `Reads a CAR bundle (v1 or v2) with one root, checks every block against its
CID, and once the whole DAG is here and durable, keeps it as an object of this
node's owner, replicated across the federation like an add. It prints the
object ID and the DAG's IPFS CID. A bundle that is truncated, holds a block
that does not match its CID, lacks a block of its DAG, or names no root or
several is refused, and nothing of it is kept. An encrypted object's bundle
stays encrypted: its capability still opens it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var in io.Reader = cmd.InOrStdin()
			var total int64
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return fmt.Errorf("import: %w", err)
				}
				defer f.Close()
				if fi, err := f.Stat(); err == nil {
					total = fi.Size()
				}
				in = f
				if opts.Name == "" {
					opts.Name = strings.TrimSuffix(filepath.Base(args[0]), ".car")
				}
			}
			progress := startProgress(os.Stderr, total, quiet)
			res, err := c.Import(cmd.Context(), progress.wrap(in), opts)
			progress.stop()
			if err != nil {
				return fmt.Errorf("import %s: %w", args[0], err)
			}
			return g.print(cmd.OutOrStdout(), res, func() {
				out := cmd.OutOrStdout()
				if quiet {
					fmt.Fprintln(out, res.CID)
					return
				}
				fmt.Fprintf(out, "Imported %s (%s in %d blocks, %d new here)\n", res.DAG, humanBytes(res.Size), res.Blocks, res.New)
				fmt.Fprintf(out, "Object ID:  %s\n", res.CID)
				if res.Capability != "" {
					fmt.Fprintf(out, "Capability: %s\n", res.Capability)
				}
				if !res.Encrypted {
					fmt.Fprintln(out, "It is public: every storage peer can read it, as every IPFS node could.")
				}
			})
		},
	}
	cmd.Flags().IntVar(&opts.Replicas, "replicas", 0, "copies to keep on distinct operators (default from config add.replicas)")
	cmd.Flags().StringVar(&opts.Name, "name", "", "name shown to you in `cairn ls` (default: the file name without .car)")
	quietFlag(cmd, &quiet)
	return cmd
}
