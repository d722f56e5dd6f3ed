package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-fed/cairn/node"
)

// TestAddEachMakesOneObjectPerEntry: `add --each DIR` adds every file and
// directory in DIR as its own object, named after it, prints them in name
// order, and leaves out (and names) a symbolic link; every object reads
// back with the capability `ls --json` lists. Several paths do the same;
// a path that does not exist fails before anything is sent, and --name
// with several is refused.
func TestAddEachMakesOneObjectPerEntry(t *testing.T) {
	a := initRepo(t, "a")
	startDaemon(t, a)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"b.txt": "bee", "a.txt": "ay", "c/one.txt": "one", "c/two.txt": "two"})
	if err := os.Symlink("a.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}

	out, err := cairnResult(t, a, nil, "add", "--each", dir)
	if err != nil {
		t.Fatalf("add --each: %v\n%s", err, out)
	}
	var names []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "added" {
			names = append(names, f[2])
		}
	}
	if strings.Join(names, " ") != "a.txt b.txt c" {
		t.Errorf("add --each printed objects %q, want a.txt b.txt c in that order\n%s", names, out)
	}
	if !strings.Contains(out, "skipped "+filepath.Join(dir, "link")) {
		t.Errorf("add --each does not name the symbolic link it left out:\n%s", out)
	}

	var results []addedOne
	cairnJSON(t, a, &results, "add", "--new", filepath.Join(dir, "a.txt"), filepath.Join(dir, "c"))
	if len(results) != 2 || results[0].Result == nil || results[1].Result == nil {
		t.Fatalf("add of two paths --json: %+v", results)
	}
	restored := filepath.Join(t.TempDir(), "c")
	cairn(t, a, "get", results[1].Result.Capability, "-o", restored)
	if got, err := os.ReadFile(filepath.Join(restored, "two.txt")); err != nil || string(got) != "two" {
		t.Errorf("the directory added as one of two objects reads back %q, %v", got, err)
	}

	var listed []node.ObjectInfo
	cairnJSON(t, a, &listed, "ls")
	before := len(listed)
	out, err = cairnResult(t, a, nil, "add", filepath.Join(dir, "b.txt"), filepath.Join(dir, "missing"))
	if err == nil || !strings.Contains(out, "missing") {
		t.Errorf("add of a missing path among others: %v\n%s", err, out)
	}
	cairnJSON(t, a, &listed, "ls")
	if len(listed) != before {
		t.Errorf("a failed multiple add stored %d objects; nothing should be sent when a path is missing", len(listed)-before)
	}
	if out, err := cairnResult(t, a, nil, "add", "--name", "x", filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")); err == nil {
		t.Errorf("--name with two paths was accepted:\n%s", out)
	}
}

// TestAddPassesALargeFileToTheDaemon: the daemon serves its socket in the
// repository, a large file added through it reads back, and it is the
// same object as the same bytes streamed from standard input under the
// same name and mode.
func TestAddPassesALargeFileToTheDaemon(t *testing.T) {
	a := initRepo(t, "a")
	startDaemon(t, a)
	if fi, err := os.Stat(filepath.Join(a, "api.sock")); err != nil || fi.Mode().Type() != os.ModeSocket {
		t.Fatalf("the daemon serves no socket in its repository: %v", err)
	}
	path := filepath.Join(t.TempDir(), "big.bin")
	data := sampleData(t, 3<<20, "PASSED")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var passed node.AddResult
	cairnJSON(t, a, &passed, "add", path)
	out, err := cairnResult(t, a, bytes.NewReader(data), "add", "-q", "--name", "big.bin", "-")
	if err != nil {
		t.Fatalf("add from stdin: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(out); got != passed.CID {
		t.Errorf("the file passed is object %s, the same bytes streamed %s", passed.CID, got)
	}
	restored := filepath.Join(t.TempDir(), "restored.bin")
	cairn(t, a, "get", passed.Capability, "-o", restored)
	if got, err := os.ReadFile(restored); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the passed file reads back as %d bytes, %v; want the %d added", len(got), err, len(data))
	}
}
