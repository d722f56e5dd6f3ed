package runner_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-fed/cairn/internal/mirror"
	"github.com/cairn-fed/cairn/internal/mirror/runner"
	"github.com/cairn-fed/cairn/internal/mirror/target"
)

// dirRunner is a one-shot runner of n into the directory dir.
func dirRunner(t *testing.T, n *fakeNode, dir string, f mirror.Format, pol mirror.Policy) *runner.Runner {
	t.Helper()
	dst, err := target.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := runner.New(n, dst, runner.Config{Format: f, Policy: pol, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return r
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
	if err := dirRunner(t, n, dir, mirror.FormatDecrypted, pol).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	mine := []string{"holiday-photos.tar", "cairn-snapshot-20250101T000000Z.tar", "bafy.tar", "notes.car"}
	for _, f := range mine {
		writeFile(t, filepath.Join(dir, f), "mine")
	}
	if err := dirRunner(t, n, dir, mirror.FormatDecrypted, pol).Run(context.Background()); err != nil {
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
			err := dirRunner(t, newFakeNode("node1"), dir, mirror.FormatCAR, mirror.Policy{Mode: mirror.Delete}).Run(context.Background())
			if !errors.Is(err, mirror.ErrBadState) {
				t.Errorf("Run with an altered state = %v, want ErrBadState", err)
			}
			for _, f := range []string{victim, filepath.Join(dir, carKey("x")), filepath.Join(dir, carKey("y")), filepath.Join(dir, "victim.car")} {
				mustExist(t, f)
			}
		})
	}
}
