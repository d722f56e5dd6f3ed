package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/internal/atomicfile"
	"github.com/cairn-fed/cairn/node/repo"
)

// The directory a restore writes: refused unless new or empty, built in a
// hidden sibling, synced before it is renamed into place.

// checkTarget refuses a target that holds anything, naming the node whose
// repository it is when it is one.
func checkTarget(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("snapshot: restore into %s: %w", dir, err)
	}
	if len(entries) == 0 {
		return nil
	}
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

// removeStale removes what a restore into the same directory that was
// killed left behind.
func removeStale(parent, base string) {
	stale, _ := filepath.Glob(filepath.Join(parent, stalePrefix(base)+"*"))
	for _, s := range stale {
		os.RemoveAll(s)
	}
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
