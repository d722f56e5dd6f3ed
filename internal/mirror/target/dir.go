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

// ErrLocked means another mirror is writing to the directory.
var ErrLocked = errors.New("target: another cairn mirror is writing to this directory")

// Dir is a directory target: each object is a file, written to a
// temporary file beside it, synced, renamed into place and the directory
// synced. Files and the directories it creates are the user's alone
// (0600, 0700): with --decrypt they hold plaintext.
type Dir struct {
	path string
	// lock is the directory itself, open and flock'ed while the target
	// is: two mirrors never write one directory at once, and the lock
	// leaves no file behind (the kernel drops it when a process dies).
	lock *os.File
	// wrap, for tests, wraps the writer of a temporary file.
	wrap func(io.Writer) io.Writer
}

// NewDir opens dir as a target, creating it if needed, and locks it
// until Close.
func NewDir(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create mirror directory: %w", err)
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open mirror directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s): stop that mirror first, or mirror to another directory", ErrLocked, dir)
		}
		return nil, fmt.Errorf("lock mirror directory %s: %w", dir, err)
	}
	return &Dir{path: dir, lock: f}, nil
}

// Close releases the directory's lock.
func (d *Dir) Close() error {
	syscall.Flock(int(d.lock.Fd()), syscall.LOCK_UN)
	return d.lock.Close()
}

// Clean removes the temporary files a killed put or state write left
// behind: only those named after an object or the state, so no file of
// the user's goes.
func (d *Dir) Clean(context.Context) error {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return fmt.Errorf("read mirror directory: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !isTemp(e.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(d.path, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove an unfinished put: %w", err)
		}
	}
	return nil
}

// isTemp reports whether name is a temporary file of a put of an object
// or of the state: "." + its key + tempMark + a random number.
func isTemp(name string) bool {
	rest, ok := strings.CutPrefix(name, ".")
	key, _, found := strings.Cut(rest, tempMark)
	return ok && found && (key == mirror.StateKey || isObjectKey(key))
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
	if err := os.Chmod(tmp.Name(), 0o600); err != nil { // CreateTemp's already; said here as the contract
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

// Keys lists the files in the directory (not subdirectories).
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
	return atomicfile.Write(filepath.Join(d.path, mirror.StateKey), b, 0o600)
}
