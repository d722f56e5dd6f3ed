package runner_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-fed/cairn/internal/mirror"
	"github.com/cairn-fed/cairn/internal/mirror/runner"
	"github.com/cairn-fed/cairn/internal/mirror/target"
)

// runDir runs a one-shot runner of n into the directory dir.
func runDir(t *testing.T, n *fakeNode, dir string, cfg runner.Config) error {
	t.Helper()
	dst, err := target.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	cfg.Logger = slog.New(slog.DiscardHandler)
	r, err := runner.New(n, dst, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r.Run(context.Background())
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("%s was removed: %v", filepath.Base(path), err)
	}
}

// TestRunnerLeavesTheUsersFiles: files of the user's own in a mirror
// directory, named like objects of the mirror's format but not by a CID
// (a tar of photos, the snapshot `cairn snapshot -o DIR/` writes), are
// never taken for objects the node deleted, under --on-delete delete.
func TestRunnerLeavesTheUsersFiles(t *testing.T) {
	dir := t.TempDir()
	n := newFakeNode("node1")
	n.add(id("a"), "a")
	pol := mirror.Policy{Mode: mirror.Delete}
	if err := runDir(t, n, dir, runner.Config{Format: mirror.FormatDecrypted, Policy: pol}); err != nil {
		t.Fatal(err)
	}
	mine := []string{"holiday-photos.tar", "cairn-snapshot-20250101T000000Z.tar", "bafy.tar", "notes.car"}
	for _, f := range mine {
		writeFile(t, filepath.Join(dir, f), "mine")
	}
	if err := runDir(t, n, dir, runner.Config{Format: mirror.FormatDecrypted, Policy: pol}); err != nil {
		t.Fatal(err)
	}
	for _, f := range mine {
		mustExist(t, filepath.Join(dir, f))
	}
	mustExist(t, filepath.Join(dir, mirror.Key(id("a"), mirror.FormatDecrypted)))
}

// TestRunnerNeverRemovesOutsideItsTarget: a state file altered to name
// a key outside the directory (or anything but an object ID) is refused;
// the file it names stays, and so does the object's copy.
func TestRunnerNeverRemovesOutsideItsTarget(t *testing.T) {
	for name, objects := range map[string]string{
		"a key that climbs out":   `{"` + id("x") + `":{"key":"../victim.txt","bytes":1,"put_at":"2020-01-01T00:00:00Z"}}`,
		"an ID that is a path":    `{"../victim":{"key":"../victim.car","bytes":1,"put_at":"2020-01-01T00:00:00Z"}}`,
		"a key of another object": `{"` + id("x") + `":{"key":"` + carKey("y") + `","bytes":1,"put_at":"2020-01-01T00:00:00Z"}}`,
		"an ID that is not a CID": `{"victim":{"key":"victim.car","bytes":1,"put_at":"2020-01-01T00:00:00Z"}}`,
		"an absolute key":         `{"` + id("x") + `":{"key":"/etc/victim.car","bytes":1,"put_at":"2020-01-01T00:00:00Z"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "mirror")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			victim := filepath.Join(root, "victim.txt")
			writeFile(t, victim, "precious")
			writeFile(t, filepath.Join(dir, carKey("x")), "x")
			writeFile(t, filepath.Join(dir, carKey("y")), "y")
			writeFile(t, filepath.Join(dir, "victim.car"), "mine")
			state := `{"version":1,"node":"node1","format":"car","cursor":"","objects":` + objects + `}`
			writeFile(t, filepath.Join(dir, mirror.StateKey), state)
			err := runDir(t, newFakeNode("node1"), dir, runner.Config{Format: mirror.FormatCAR, Policy: mirror.Policy{Mode: mirror.Delete}})
			if !errors.Is(err, mirror.ErrBadState) {
				t.Errorf("Run with an altered state = %v, want ErrBadState", err)
			}
			for _, f := range []string{victim, filepath.Join(dir, carKey("x")), filepath.Join(dir, carKey("y")), filepath.Join(dir, "victim.car")} {
				mustExist(t, f)
			}
		})
	}
}

// TestRunnerStartsOnlyInAnEmptyPlace: a directory that holds files and
// no mirror state is refused, saying what to do, with nothing written or
// removed; with Adopt the runner takes it over, adopting only CID-named
// files, and a state is there before any object is.
func TestRunnerStartsOnlyInAnEmptyPlace(t *testing.T) {
	dir := t.TempDir()
	mine := []string{"holiday-photos.car", "notes.txt"}
	for _, f := range mine {
		writeFile(t, filepath.Join(dir, f), "mine")
	}
	orphan := filepath.Join(dir, carKey("gone")) // a copy whose state was lost
	writeFile(t, orphan, "gone")
	n := newFakeNode("node1")
	n.add(id("a"), "a")
	pol := mirror.Policy{Mode: mirror.Delete}
	err := runDir(t, n, dir, runner.Config{Format: mirror.FormatCAR, Policy: pol})
	if !errors.Is(err, runner.ErrNotEmpty) || !strings.Contains(err.Error(), "empty directory") || !strings.Contains(err.Error(), "--adopt") {
		t.Fatalf("Run in a directory of the user's = %v, want ErrNotEmpty saying what to do", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Fatalf("a refused run left %d entries, want the 3 there before", len(entries))
	}

	if err := runDir(t, n, dir, runner.Config{Format: mirror.FormatCAR, Policy: pol, Adopt: true}); err != nil {
		t.Fatal(err)
	}
	for _, f := range mine {
		mustExist(t, filepath.Join(dir, f))
	}
	mustExist(t, filepath.Join(dir, carKey("a")))
	if _, err := os.Stat(orphan); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the adopted copy of an object the node does not have is still there under delete: %v", err)
	}
}

// crashAfterPut is a target that fails every call after its first put,
// as a mirror killed right after it would leave it.
type crashAfterPut struct{ *target.Memory }

func (c crashAfterPut) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	n, err := c.Memory.Put(ctx, key, r)
	c.SetFail(true)
	return n, err
}

// TestRunnerWritesItsStateFirst: the first run at an empty target writes
// its state before the first put, so a run killed after that put leaves
// a target the next run knows for its own (not one to refuse).
func TestRunnerWritesItsStateFirst(t *testing.T) {
	n := newFakeNode("node1")
	n.add(id("a"), "a")
	tg := target.NewMemory()
	if err := newRunner(t, n, crashAfterPut{tg}, false, mirror.Policy{}).Run(context.Background()); err == nil {
		t.Fatal("a run whose target failed after the first put succeeded")
	}
	tg.SetFail(false)
	if _, ok := tg.Get(mirror.StateKey); !ok {
		t.Fatal("no state at the target after the first run began")
	}
	if err := newRunner(t, n, tg, false, mirror.Policy{}).Run(context.Background()); err != nil {
		t.Fatalf("the run after the crash: %v", err)
	}
	if !has(tg, "a", "a") {
		t.Fatal("the object is not at the target after the second run")
	}
}
