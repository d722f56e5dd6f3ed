package node

import (
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-fed/cairn/node/repo"
)

// TestIndexIsPrivate: the index Pebble writes holds only 0600 files and
// 0700 directories, both when it is new and when an older node left it
// with 0644 files and 0755 directories.
func TestIndexIsPrivate(t *testing.T) {
	r, err := repo.Init(filepath.Join(t.TempDir(), "r"), repo.InitOptions{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, API: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	owner, err := r.Owner(nil)
	if err != nil {
		t.Fatal(err)
	}
	run := func() {
		n, err := New(r, Options{Owner: owner, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		checkPrivate(t, r.Path(repo.IndexDir)) // while open: the WAL and LOCK too
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		checkPrivate(t, r.Path(repo.IndexDir))
	}
	run()
	filepath.WalkDir(r.Path(repo.IndexDir), func(path string, d fs.DirEntry, err error) error {
		if err == nil {
			os.Chmod(path, map[bool]os.FileMode{true: 0o755, false: 0o644}[d.IsDir()])
		}
		return err
	})
	run()
}

func checkPrivate(t *testing.T, dir string) {
	t.Helper()
	var files int
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %v, want %v", path, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("no files in %s: is that the index?", dir)
	}
}
