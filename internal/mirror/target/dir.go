// Package target holds the places a mirror writes to: a directory, an S3
// bucket prefix, and an in-memory target for tests. Each puts an object
// atomically (whole or not at all, even when the process is killed), so a
// mirror's target never holds half an object; all pass one shared suite.
package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/cairn-fed/cairn/internal/atomicfile"
	"github.com/cairn-fed/cairn/internal/mirror"
	"github.com/cairn-fed/cairn/internal/mirror/runner"
)

var (
	_ runner.Target = (*Dir)(nil)
	_ runner.Target = (*S3)(nil)
	_ runner.Target = (*Memory)(nil)
)

// tempMark is in the name of every file a put has not finished.
const tempMark = ".tmp-"

// Dir is a directory target: each object is a file, written to a
// temporary file beside it, synced, renamed into place and the directory
// synced.
type Dir struct {
	path string
	// wrap, for tests, wraps the writer of a temporary file.
	wrap func(io.Writer) io.Writer
}

// NewDir opens dir as a target, creating it if needed and removing
// temporary files a killed put left behind.
func NewDir(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create mirror directory: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read mirror directory: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), tempMark) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return nil, fmt.Errorf("remove an unfinished put: %w", err)
			}
		}
	}
	return &Dir{path: dir}, nil
}

func (d *Dir) String() string { return d.path }

// Put writes the object atomically.
func (d *Dir) Put(_ context.Context, key string, r io.Reader) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	n, err := d.write(key, r)
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		err = fmt.Errorf("%w (the target directory is full: free space there and run the mirror again; nothing half-written was left)", err)
	}
	return n, err
}

func (d *Dir) write(key string, r io.Reader) (int64, error) {
	path := filepath.Join(d.path, key)
	tmp, err := os.CreateTemp(d.path, "."+key+tempMark+"*")
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	var w io.Writer = tmp
	if d.wrap != nil {
		w = d.wrap(tmp)
	}
	n, err := io.Copy(w, r)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return n, fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return n, fmt.Errorf("write %s: %w", path, err)
	}
	return n, atomicfile.SyncDir(d.path)
}

// Remove deletes the object's file.
func (d *Dir) Remove(_ context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	err := os.Remove(filepath.Join(d.path, key))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return atomicfile.SyncDir(d.path)
}

// Keys lists the files in the directory.
func (d *Dir) Keys(context.Context) ([]string, error) {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() {
			keys = append(keys, e.Name())
		}
	}
	return keys, nil
}

// ReadState reads the state file.
func (d *Dir) ReadState(context.Context) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(d.path, mirror.StateKey))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %w", runner.ErrNoState, err)
	}
	return b, err
}

// WriteState replaces the state file atomically.
func (d *Dir) WriteState(_ context.Context, b []byte) error {
	return atomicfile.Write(filepath.Join(d.path, mirror.StateKey), b, 0o644)
}
