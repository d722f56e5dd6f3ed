package main

import (
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

// addedOne is the outcome of one object of a multiple add.
type addedOne struct {
	Path   string          `json:"path"`
	Result *node.AddResult `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// eachEntry lists the entries of dir that `cairn add --each` adds, each
// as its own object: its files and directories, in name order. Anything
// else (a symbolic link, a device) is named on stderr and left out.
func eachEntry(dir string, stderr io.Writer) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("add --each: %w", err)
	}
	var paths []string
	for _, e := range entries {
		if !e.IsDir() && !e.Type().IsRegular() {
			fmt.Fprintf(stderr, "skipped %s: a %s, not a file or directory\n", filepath.Join(dir, e.Name()), e.Type())
			continue
		}
		paths = append(paths, filepath.Join(dir, e.Name()))
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("add --each: %s holds no file or directory", dir)
	}
	return paths, nil
}

// addMany adds every path as its own object, named after its base name,
// jobs at a time over one connection pool, and prints one line per object
// in the order given as each is durable. An object that fails is reported
// and the others go on; the command fails at the end if any did.
func addMany(cmd *cobra.Command, g *globals, c *api.Client, paths []string, opts node.AddOptions, jobs int, quiet bool) error {
	var total int64
	for _, p := range paths {
		size, err := sourceSize(p)
		if err != nil {
			return err
		}
		total += size
	}
	start := time.Now()
	progress := startProgress(os.Stderr, total, quiet || g.json)
	results := make([]addedOne, len(paths))
	done := make([]chan struct{}, len(paths))
	for i := range done {
		done[i] = make(chan struct{})
	}
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range paths {
			select {
			case next <- i:
			case <-cmd.Context().Done():
				return
			}
		}
	}()
	for range min(jobs, len(paths)) {
		go func() {
			for i := range next {
				results[i] = addOne(cmd, c, paths[i], opts, progress)
				close(done[i])
			}
		}()
	}
	failed := 0
	out := cmd.OutOrStdout()
	for i := range paths {
		select {
		case <-done[i]:
		case <-cmd.Context().Done():
			progress.stop()
			return cmd.Context().Err()
		}
		r := results[i]
		if r.Error != "" {
			failed++
			progress.clearLine()
			fmt.Fprintf(os.Stderr, "failed %s: %s\n", r.Path, r.Error)
			continue
		}
		switch {
		case g.json:
		case quiet:
			fmt.Fprintln(out, r.Result.CID)
		default:
			progress.clearLine()
			fmt.Fprintf(out, "added %s %s\n", r.Result.CID, r.Result.Name)
		}
	}
	progress.stop()
	if g.json {
		if err := g.print(out, results, nil); err != nil {
			return err
		}
	} else if !quiet {
		took := time.Since(start)
		fmt.Fprintf(os.Stderr, "Added %d of %d objects (%s) in %s, %.0f objects/s. Their capabilities are in `cairn ls --json` and in your catalog.\n",
			len(paths)-failed, len(paths), humanBytes(total), took.Round(time.Millisecond), float64(len(paths)-failed)/took.Seconds())
	}
	if failed > 0 {
		return fmt.Errorf("add: %d of %d objects failed (named above); the others are stored", failed, len(paths))
	}
	return nil
}

// addOne adds one path of a multiple add.
func addOne(cmd *cobra.Command, c *api.Client, path string, opts node.AddOptions, progress *progress) addedOne {
	opts.Name = ""
	res, err := addPath(cmd.Context(), c, path, opts, progress)
	if err != nil {
		return addedOne{Path: path, Error: err.Error()}
	}
	return addedOne{Path: path, Result: &res}
}

// sourceSize is the size of what adding path sends, checking that it is
// a file or a directory.
func sourceSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("add: %w", err)
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("add: %s is a %s, not a file or directory", path, fi.Mode().Type())
	}
	size, err := archive.Size(path)
	if err != nil {
		return 0, fmt.Errorf("add: %w", err)
	}
	return size, nil
}

// errManyNamed: --name names one object.
var errManyNamed = errors.New("add: --name names one object; several are named after their files")
