package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/internal/atomicfile"
	"github.com/cairn-fed/cairn/node/repo"
)

// The directory a restore writes. A new directory is built in a hidden
// sibling and renamed into place once whole, so it is whole or absent. An
// empty directory that exists already (a mount point, a container volume:
// a sibling may be on another file system, and a mount point cannot be
// renamed over) is built inside, in inPlaceDir, and its entries are moved
// up with the config last, which is what makes a repository. What a
// killed restore left behind is cleared by the next one.

// inPlaceDir is where a restore into an existing directory builds.
const inPlaceDir = ".cairn-restoring"

// target is where one restore builds and where it places the result.
type target struct {
	dir     string // the repository to make
	build   string // where the restore writes
	inPlace bool
	moved   []string // in place: the entries place moved into dir so far
}

// newTarget prepares the build directory for dir, refusing a dir that
// holds anything but what a killed restore left there.
func newTarget(dir string) (*target, error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return newSiblingTarget(dir)
	case err != nil:
		return nil, fmt.Errorf("snapshot: restore into %s: %w", dir, err)
	case interruptedInPlace(entries):
		// Only what a restore writes; anything else stays, and refuses.
		for _, e := range entries {
			if restoredNames[e.Name()] {
				if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
					return nil, fmt.Errorf("snapshot: clear an interrupted restore in %s: %w", dir, err)
				}
			}
		}
		if entries, err = os.ReadDir(dir); err != nil || len(entries) > 0 {
			return nil, notEmpty(dir, entries)
		}
	case len(entries) > 0:
		return nil, notEmpty(dir, entries)
	}
	t := &target{dir: dir, build: filepath.Join(dir, inPlaceDir), inPlace: true}
	if err := os.Mkdir(t.build, 0o700); err != nil {
		return nil, fmt.Errorf("snapshot: restore into %s: %w", dir, err)
	}
	return t, nil
}

func newSiblingTarget(dir string) (*target, error) {
	parent, base := filepath.Split(dir)
	if parent == "" {
		parent = "."
	}
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("snapshot: create %s: %w", parent, err)
	}
	if err := removeStale(parent, base); err != nil {
		return nil, err
	}
	build, err := os.MkdirTemp(parent, stalePrefix(base))
	if err != nil {
		return nil, fmt.Errorf("snapshot: restore into %s: %w", parent, err)
	}
	return &target{dir: dir, build: build}, nil
}

// restoredNames are the names a restore writes into a repository
// directory, the only ones an interrupted in-place restore's are.
var restoredNames = map[string]bool{
	inPlaceDir: true, repo.ConfigFile: true, repo.IdentityFile: true, repo.OwnerFile: true, repo.TokenFile: true,
	repo.AuthorityFile: true, repo.RosterFile: true, repo.IndexDir: true, repo.EventsDir: true,
	repo.BlocksDir: true, repo.RestoredFile: true,
}

// interruptedInPlace reports a directory holding what a killed in-place
// restore left: its build directory, and no config yet.
func interruptedInPlace(entries []fs.DirEntry) bool {
	building, config := false, false
	for _, e := range entries {
		building = building || e.Name() == inPlaceDir
		config = config || e.Name() == repo.ConfigFile
	}
	return building && !config
}

// notEmpty names the node whose repository dir is, when it is one.
func notEmpty(dir string, entries []fs.DirEntry) error {
	if r, err := repo.Open(dir); err == nil {
		if priv, err := r.Identity(); err == nil {
			if id, err := peer.IDFromPrivateKey(priv); err == nil {
				return fmt.Errorf("%w: %s holds the repository of node %s; restore into a new directory", ErrNotEmpty, dir, id)
			}
		}
	}
	return fmt.Errorf("%w: %s holds %d entries (%s, ...); restore into a new or empty directory", ErrNotEmpty, dir, len(entries), entries[0].Name())
}

// stalePrefix names the hidden directories restores into dir build in.
func stalePrefix(base string) string { return "." + base + ".restoring-" }

// removeStale removes what a killed restore into the same directory left
// beside it.
func removeStale(parent, base string) error {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), stalePrefix(base)) {
			if err := os.RemoveAll(filepath.Join(parent, e.Name())); err != nil {
				return fmt.Errorf("snapshot: remove an interrupted restore: %w", err)
			}
		}
	}
	return nil
}

// discard removes what an unfinished restore wrote: its build directory,
// and in place, what it moved out of it already.
func (t *target) discard() {
	os.RemoveAll(t.build)
	for _, name := range t.moved {
		os.RemoveAll(filepath.Join(t.dir, name))
	}
}

// place makes the built repository durable and puts it at t.dir.
func (t *target) place() error {
	if err := syncDirs(t.build); err != nil {
		return err
	}
	if !t.inPlace {
		if err := os.Rename(t.build, t.dir); err != nil {
			return fmt.Errorf("snapshot: move the restored repository into place: %w", err)
		}
		return atomicfile.SyncDir(filepath.Dir(t.dir))
	}
	entries, err := os.ReadDir(t.build)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	for _, e := range entries {
		if e.Name() != repo.ConfigFile {
			if err := os.Rename(filepath.Join(t.build, e.Name()), filepath.Join(t.dir, e.Name())); err != nil {
				return fmt.Errorf("snapshot: move %s into place: %w", e.Name(), err)
			}
			t.moved = append(t.moved, e.Name())
		}
	}
	if err := atomicfile.SyncDir(t.dir); err != nil {
		return err
	}
	// The config last: it is what makes the directory a repository.
	if err := os.Rename(filepath.Join(t.build, repo.ConfigFile), filepath.Join(t.dir, repo.ConfigFile)); err != nil {
		return fmt.Errorf("snapshot: move the config into place: %w", err)
	}
	if err := os.Remove(t.build); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return atomicfile.SyncDir(t.dir)
}

// syncDirs makes the names in every directory under root durable.
func syncDirs(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return atomicfile.SyncDir(p)
		}
		return nil
	})
}
