package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/internal/bench"
)

func newBenchCommand(_ *globals) *cobra.Command {
	var (
		dir   string
		quick bool
		mib   []int
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure ingest speed against this machine's own limits and print a table",
		Long: "Bench adds 256 MiB and 1 GiB of random data through the full path (chunk,\n" +
			"hash, encrypt, durable store) and, in the same run, measures this machine's\n" +
			"crypto speed and durable sequential write speed on the same disk. Each figure\n" +
			"is the median of three runs. It needs about 2 GiB free in --dir.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			opts := bench.DefaultIngestOptions(dir)
			if len(mib) > 0 {
				opts.Sizes = nil
				for _, m := range mib {
					opts.Sizes = append(opts.Sizes, int64(m)<<20)
				}
			}
			if quick {
				opts.Sizes, opts.Runs = []int64{32 << 20}, 1
			}
			table, err := bench.Ingest(ctx, opts)
			if err != nil {
				return err
			}
			table.Print(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", os.TempDir(), "directory on the disk to measure")
	cmd.Flags().IntSliceVar(&mib, "mib", nil, "add sizes in MiB (default 256 and 1024)")
	cmd.Flags().BoolVar(&quick, "quick", false, "one small run, to check that the benchmark works")
	return cmd
}
