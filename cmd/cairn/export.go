package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/cairn-fed/cairn/internal/atomicfile"
	"github.com/spf13/cobra"
)

func newExportCommand(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export CID|CAPABILITY -o FILE.car",
		Short: "Write an object's whole DAG as a CAR bundle (ciphertext for encrypted objects), for `ipfs dag import` or `cairn import`",
		Long: `Writes every block of the object as a CARv1 bundle with the object as its one
root, fetching from the members what this node lacks. An encrypted object's
bundle holds ciphertext only: it is safe to hand to anyone, and only the
capability opens it. -o - writes to standard output. The file appears only
once the whole bundle is written.`,
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
