package node

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// privateFS is the file system the index (Pebble) writes through: every
// file it creates is made readable by this user only (0600) and every
// directory 0700, whatever the process umask. Pebble itself creates files
// 0666 and directories 0755, and changing the process umask would change
// it for everything else the process writes too.
type privateFS struct{ vfs.FS }

var _ vfs.FS = privateFS{}

func (p privateFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := p.FS.Create(name, category)
	if err := keepPrivate(f, err, name, 0o600); err != nil {
		return nil, err
	}
	return f, nil
}

func (p privateFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := p.FS.OpenReadWrite(name, category, opts...)
	if err := keepPrivate(f, err, name, 0o600); err != nil {
		return nil, err
	}
	return f, nil
}

func (p privateFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := p.FS.ReuseForWrite(oldname, newname, category)
	if err := keepPrivate(f, err, newname, 0o600); err != nil {
		return nil, err
	}
	return f, nil
}

func (p privateFS) Lock(name string) (io.Closer, error) {
	f, err := p.FS.Lock(name)
	if err := keepPrivate(f, err, name, 0o600); err != nil {
		return nil, err
	}
	return f, nil
}

func (p privateFS) MkdirAll(dir string, _ os.FileMode) error {
	if err := p.FS.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// MkdirAll applies the umask and leaves an existing directory alone.
	return keepPrivate(nil, nil, dir, 0o700)
}

// keepPrivate sets name's mode to perm after a call that created or opened
// it returned f and err; if that fails, it closes f and says why.
func keepPrivate(f io.Closer, err error, name string, perm os.FileMode) error {
	if err != nil {
		return err
	}
	if err := os.Chmod(name, perm); err != nil {
		if f != nil {
			f.Close()
		}
		return fmt.Errorf("make %s private: %w", name, err)
	}
	return nil
}

// makePrivate sets every file under dir to 0600 and every directory to
// 0700: repositories made before the index wrote through privateFS have
// 0644 files.
func makePrivate(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		perm := os.FileMode(0o600)
		if d.IsDir() {
			perm = 0o700
		} else if !d.Type().IsRegular() {
			return nil
		}
		if err := os.Chmod(path, perm); err != nil {
			return fmt.Errorf("make %s private: %w", path, err)
		}
		return nil
	})
}
