package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/internal/mirror"
	"github.com/cairn-fed/cairn/internal/mirror/runner"
	"github.com/cairn-fed/cairn/internal/mirror/target"
)

// mirrorFlags are cairn mirror's flags.
type mirrorFlags struct {
	to, onDelete, metrics, endpoint string
	decrypt, follow, adopt          bool
}

func newMirrorCommand(g *globals) *cobra.Command {
	var f mirrorFlags
	cmd := &cobra.Command{
		Use:   "mirror --to DIR|s3://BUCKET/PREFIX",
		Short: "Copy every object you own to your own storage (a directory or S3), and keep it up to date",
		Long: `Mirror copies each object this node's owner owns to a directory or an S3
bucket: as a CAR bundle of its blocks (ciphertext for encrypted objects; named
CID.car), or with --decrypt as a tar of its decrypted files (CID.tar). Beside
them, .cairn-mirror.json records the node mirrored, the event cursor and every
object present. A mirror starts only in an empty directory or prefix, or one
holding its own .cairn-mirror.json (--adopt takes over one whose state was
lost), and only files named by a CID are ever its own. A run copies what is
missing and then, with --follow, keeps following the node's events until
interrupted. An object is written whole or not at all; after a crash, run the
same command again: it finishes the job with each object present once. An
object that cannot be copied is reported and tried again on the next pass,
after the others. Objects deleted on the node are kept (--on-delete keep, the
default), removed (delete) or removed after a while (after=30d); while the
node, restored from a snapshot, is catching up, nothing is removed.

S3 is reached the way the AWS tools reach it: AWS_ENDPOINT_URL_S3 or
AWS_ENDPOINT_URL (or --endpoint), AWS_REGION, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY (or ~/.aws/credentials). A directory is locked while
a mirror writes to it; an S3 prefix is not: run one mirror per prefix.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMirror(cmd, g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.to, "to", "", "the directory or s3://BUCKET/PREFIX to mirror to")
	fl.BoolVar(&f.decrypt, "decrypt", false, "store decrypted files (a tar per object) instead of ciphertext CAR bundles")
	fl.StringVar(&f.onDelete, "on-delete", "keep", "what happens to the copy of an object deleted on the node: keep, delete, or after=DURATION (30d, 12h, 1d12h)")
	fl.BoolVarP(&f.follow, "follow", "f", false, "keep mirroring new objects and deletions until interrupted")
	fl.BoolVar(&f.adopt, "adopt", false, "mirror into a directory or prefix that holds files but no .cairn-mirror.json (a mirror whose state was lost): its CID-named files become the mirror's")
	fl.StringVar(&f.metrics, "metrics", "", "serve Prometheus metrics on this address (host:port) while mirroring")
	fl.StringVar(&f.endpoint, "endpoint", "", "the S3 endpoint URL (default $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, else AWS)")
	return cmd
}

func runMirror(cmd *cobra.Command, g *globals, f mirrorFlags) error {
	policy, err := mirror.ParsePolicy(f.onDelete)
	if err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	dst, err := openMirrorTarget(f)
	if err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	if c, ok := dst.(io.Closer); ok { // a directory's lock
		defer c.Close()
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	logger, err := g.logger(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	format := mirror.FormatCAR
	if f.decrypt {
		format = mirror.FormatDecrypted
	}
	out := cmd.OutOrStdout()
	r, err := runner.New(runner.Daemon{API: c, Logger: logger}, dst, runner.Config{
		Format: format, Policy: policy, Follow: f.follow, Adopt: f.adopt, Logger: logger,
		Report: func(rep runner.Report) { printMirrorReport(out, g.json, rep) },
	})
	if err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f.metrics != "" {
		closeMetrics, err := serveMirrorMetrics(f.metrics, r)
		if err != nil {
			return fmt.Errorf("mirror: --metrics: %w", err)
		}
		defer closeMetrics()
	}
	if err := r.Run(ctx); err != nil {
		return fmt.Errorf("mirror to %s: %w", dst, err)
	}
	s := r.Stats()
	if !g.json {
		fmt.Fprintf(out, "Mirrored to %s: %d objects put (%s), %d removed; %d present, %d of them deleted on the node.\n",
			dst, s.Put, humanBytes(s.PutBytes), s.Removed, s.Present, s.Deleted)
	}
	return nil
}

func openMirrorTarget(f mirrorFlags) (runner.Target, error) {
	switch {
	case f.to == "":
		return nil, errors.New("say where to mirror to with --to DIR or --to s3://BUCKET/PREFIX")
	case strings.HasPrefix(f.to, "s3://"):
		cfg, err := target.S3ConfigFromEnv(f.to, f.endpoint, os.Getenv)
		if err != nil {
			return nil, fmt.Errorf("--to: %w", err)
		}
		return target.NewS3(cfg)
	case strings.Contains(f.to, "://"):
		return nil, fmt.Errorf("--to %q: mirror writes to a directory or to s3://BUCKET/PREFIX", f.to)
	case f.endpoint != "":
		return nil, errors.New("--endpoint is for an s3:// target")
	}
	return target.NewDir(f.to)
}

// printMirrorReport prints one line of progress: JSON with --json.
func printMirrorReport(w io.Writer, asJSON bool, rep runner.Report) {
	if asJSON {
		b, _ := json.Marshal(rep)
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	switch rep.Action {
	case "put":
		fmt.Fprintf(w, "put     %s  %s  (%d put, %s)\n", rep.CID, humanBytes(rep.Bytes), rep.Put, humanBytes(rep.PutBytes))
	case "remove":
		fmt.Fprintf(w, "removed %s\n", rep.CID)
	case "fail":
		fmt.Fprintf(w, "failed  %s  %s (going on; tried again on the next pass)\n", rep.CID, rep.Error)
	case "hold":
		fmt.Fprintln(w, "the node was restored from a snapshot and is still catching up with the federation: removing nothing until it has")
	case "resume":
		fmt.Fprintln(w, "the node has caught up: removing copies again as --on-delete says")
	case "retry":
		fmt.Fprintf(w, "failed, trying again: %s\n", rep.Error)
	}
}

// serveMirrorMetrics serves the runner's counters in Prometheus's text
// format until the returned function is called.
func serveMirrorMetrics(addr string, r *runner.Runner) (func(), error) {
	reg := prometheus.NewRegistry()
	stat := func(name, help string, counter bool, v func(runner.Stats) int64) {
		fn := func() float64 { return float64(v(r.Stats())) }
		if counter {
			reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cairn_mirror_" + name, Help: help}, fn))
			return
		}
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cairn_mirror_" + name, Help: help}, fn))
	}
	stat("objects_put_total", "Objects copied to the target.", true, func(s runner.Stats) int64 { return s.Put })
	stat("bytes_put_total", "Bytes copied to the target.", true, func(s runner.Stats) int64 { return s.PutBytes })
	stat("objects_removed_total", "Copies removed from the target after a deletion.", true, func(s runner.Stats) int64 { return s.Removed })
	stat("objects_failed_total", "Puts and removals of one object that failed; each is tried again on the next pass.", true, func(s runner.Stats) int64 { return s.Failed })
	stat("passes_total", "Passes that brought the target up to date.", true, func(s runner.Stats) int64 { return s.Passes })
	stat("errors_total", "Passes that failed and were retried.", true, func(s runner.Stats) int64 { return s.Errors })
	stat("objects_present", "Objects at the target after the last pass.", false, func(s runner.Stats) int64 { return s.Present })
	stat("objects_kept_deleted", "Objects at the target that were deleted on the node.", false, func(s runner.Stats) int64 { return s.Deleted })
	stat("last_pass_timestamp_seconds", "When the last pass ended (Unix time).", false, func(s runner.Stats) int64 { return s.LastPass })
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(l) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}
