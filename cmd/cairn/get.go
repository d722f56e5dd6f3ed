package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/internal/archive"
	"github.com/cairn-fed/cairn/node/api"
)

func newGetCommand(g *globals) *cobra.Command {
	var out string
	var dir bool
	cmd := &cobra.Command{
		Use:   "get CAPABILITY -o OUT",
		Short: "Fetch, verify and decrypt an object into OUT",
		Long: "Get fetches the object's blocks from the federation, verifies and decrypts them,\n" +
			"and writes the result to OUT. While it runs it shows the bytes received and\n" +
			"the rate on standard error, when that is a terminal.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("get: say where to write with -o OUT")
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if out == "-" {
				return getToStdout(cmd, c, args[0])
			}
			stream, err := c.Get(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("get: %w", err)
			}
			defer stream.Close()
			progress := startReceiveProgress(os.Stderr, stream.ContentSize, false)
			err = extract(stream, out, dir, &progress.done)
			progress.stop()
			if err != nil {
				return fmt.Errorf("get: %w", err)
			}
			return g.print(cmd.OutOrStdout(), map[string]string{"output": out}, func() {
				fmt.Fprintln(cmd.OutOrStdout(), "Wrote", out)
			})
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file or directory to create (must not exist), or - to write a single file's contents to standard output")
	cmd.Flags().BoolVar(&dir, "dir", false, "always write a directory, even for a single file")
	return cmd
}

// extract writes the stream to out and reads it to the end, so an error the
// daemon reports after the last file still fails the command. It counts
// the bytes of file contents written into written.
func extract(stream io.Reader, out string, dir bool, written *atomic.Int64) error {
	if err := archive.ExtractCounting(stream, out, dir, written); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, stream); err != nil {
		os.RemoveAll(out)
		return err
	}
	return nil
}

// getToStdout writes the contents of an object that is one file to
// standard output, and fails if the daemon reports an error at the end.
func getToStdout(cmd *cobra.Command, c *api.Client, capability string) error {
	stream, err := c.GetContents(cmd.Context(), capability)
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	defer stream.Close()
	progress := startReceiveProgress(os.Stderr, stream.ContentSize, false)
	_, err = io.Copy(cmd.OutOrStdout(), progress.wrap(stream))
	progress.stop()
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	return nil
}
