package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/internal/archive"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/api"
)

func newAddCommand(g *globals) *cobra.Command {
	var opts node.AddOptions
	var quiet bool
	var each string
	var jobs int
	cmd := &cobra.Command{
		Use:   "add PATH...|-|--each DIR",
		Short: "Encrypt and store a file, a directory or stdin; print its capability",
		Long: "Add chunks the data, encrypts every chunk on this node and stores it.\n" +
			"It prints the object ID (CID) and the capability: keep the capability, it is\n" +
			"the only way to read the data back (`cairn get CAPABILITY -o OUT`).\n\n" +
			"Several paths, or --each DIR (every file and directory in DIR), make one object\n" +
			"each, added --jobs at a time; it prints a line per object, and their\n" +
			"capabilities are in `cairn ls --json` and the catalog.",
		Args: func(cmd *cobra.Command, args []string) error {
			if each != "" {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.MinimumNArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if jobs < 1 || jobs > 64 {
				return fmt.Errorf("add: --jobs must be from 1 to 64, got %d", jobs)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if each != "" || len(args) > 1 {
				if opts.Name != "" {
					return errManyNamed
				}
				paths := args
				if each != "" {
					if paths, err = eachEntry(each, os.Stderr); err != nil {
						return err
					}
				}
				for _, p := range paths {
					if p == "-" {
						return errors.New("add: - (stdin) is one object on its own")
					}
				}
				return addMany(cmd, g, c, paths, opts, jobs, quiet)
			}
			total := int64(0)
			if args[0] != "-" {
				if total, err = sourceSize(args[0]); err != nil {
					return err
				}
			}
			progress := startProgress(os.Stderr, total, quiet)
			res, err := addPath(cmd.Context(), c, args[0], opts, progress)
			progress.stop()
			if err != nil {
				return fmt.Errorf("add %s: %w", args[0], err)
			}
			return g.print(cmd.OutOrStdout(), res, func() {
				if quiet {
					fmt.Fprintln(cmd.OutOrStdout(), res.CID)
					return
				}
				printAdded(cmd, res)
			})
		},
	}
	cmd.Flags().IntVar(&opts.Replicas, "replicas", 0, "copies to keep on distinct operators (default from config add.replicas)")
	cmd.Flags().BoolVar(&opts.Unencrypted, "unencrypted", false, "store PLAINTEXT: storage peers can read it (marked as such everywhere)")
	cmd.Flags().BoolVar(&opts.New, "new", false, "make a new object even if identical content was added before")
	cmd.Flags().StringVar(&opts.Name, "name", "", "name shown to you in `cairn ls` (default: the file name)")
	cmd.Flags().StringVar(&each, "each", "", "add every file and directory in `DIR` as its own object")
	cmd.Flags().IntVar(&jobs, "jobs", 8, "with several objects: how many to add at once")
	quietFlag(cmd, &quiet)
	return cmd
}

// addPath adds one path as one object. A regular file of passMin bytes or
// more is passed, open, to a daemon on this machine, which reads it
// itself (node/api/localfile.go); anything else, or when the daemon's
// socket cannot be reached, is streamed over a kept connection. Either
// way the object is the same.
func addPath(ctx context.Context, c *api.Client, path string, opts node.AddOptions, progress *progress) (node.AddResult, error) {
	if path != "-" {
		res, err := addPassed(ctx, c, path, opts, progress)
		if !errors.Is(err, errNotPassed) && !errors.Is(err, api.ErrNoSocket) {
			return res, err
		}
	}
	body, contentType, _, err := openAddSource(path, &opts)
	if err != nil {
		return node.AddResult{}, err
	}
	defer body.Close()
	return c.Add(ctx, progress.wrap(body), contentType, opts)
}

// passMin is the smallest file passed rather than streamed: below it the
// connection a passed file needs costs about what streaming saves (2,000
// files of 4 KiB, 8 at a time: 3.00 s passed, 2.72 s streamed).
const passMin = 1 << 20

// errNotPassed: the path is not a regular file of passMin bytes or more,
// so it is streamed.
var errNotPassed = errors.New("add: not a regular file")

// addPassed passes the regular file at path to the daemon, and follows
// the daemon's reading through the file's offset, which the two share.
func addPassed(ctx context.Context, c *api.Client, path string, opts node.AddOptions, progress *progress) (node.AddResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return node.AddResult{}, fmt.Errorf("add: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() < passMin {
		return node.AddResult{}, errNotPassed
	}
	name := filepath.Base(filepath.Clean(path))
	if opts.Name == "" {
		opts.Name = name
	}
	stop := make(chan struct{})
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		var shown int64
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if off, err := f.Seek(0, io.SeekCurrent); err == nil && off > shown {
					progress.done.Add(off - shown)
					shown = off
				}
			}
		}
	}()
	res, err := c.AddPassedFile(ctx, f, name, opts)
	close(stop)
	<-followed
	return res, err
}

// openAddSource opens what to send: a file or directory as a tar stream
// (which keeps names, permission bits and symbolic links), or stdin's
// bytes. It checks the path first so a typo fails before anything is sent.
func openAddSource(path string, opts *node.AddOptions) (io.ReadCloser, string, int64, error) {
	if path == "-" {
		if opts.Name == "" {
			opts.Name = "stdin"
		}
		return io.NopCloser(os.Stdin), api.ContentFile, 0, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", 0, fmt.Errorf("add: %w", err)
	}
	if opts.Name == "" {
		opts.Name = filepath.Base(filepath.Clean(path))
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return nil, "", 0, fmt.Errorf("add: %s is a %s, not a file or directory", path, fi.Mode().Type())
	}
	total, err := archive.Size(path)
	if err != nil {
		return nil, "", 0, fmt.Errorf("add: %w", err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(archive.WriteTree(pw, path)) }()
	return pr, api.ContentTar, total, nil
}

func printAdded(cmd *cobra.Command, res node.AddResult) {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Added %s (%s, %d file(s), %d chunk(s))\n", res.Name, humanBytes(res.Size), res.Files, res.Chunks)
	fmt.Fprintf(out, "Object ID:  %s\n", res.CID)
	fmt.Fprintf(out, "Capability: %s\n", res.Capability)
	if res.IPFS != "" {
		fmt.Fprintf(out, "IPFS CID:   %s (what `ipfs cat`, `ipfs ls` and `cairn export` know it by)\n", res.IPFS)
	}
	if !res.Encrypted {
		fmt.Fprintln(out, "WARNING: stored UNENCRYPTED; every storage peer can read it.")
	} else {
		fmt.Fprintln(out, "Keep the capability safe: it is the key to this data.")
	}
}
