package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"

	"github.com/cairn-fed/cairn/node"
)

// readCAR reads a bundle, checking every block against its CID, and
// returns its roots and its blocks' CIDs in order.
func readCAR(t *testing.T, path string) ([]cid.Cid, []cid.Cid) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br, err := carv2.NewBlockReader(f, carv2.WithTrustedCAR(false))
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var got []cid.Cid
	for {
		b, err := br.Next()
		if errors.Is(err, io.EOF) {
			return br.Roots, got
		}
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		got = append(got, b.Cid())
	}
}

// TestExportWritesTheWholeDAG: a bundle of an object holds it as its one
// root and every block once, each matching its CID; by object ID and by
// capability the bytes are the same, to a file or to standard output; an
// object no one holds is a clear error and leaves no file behind.
func TestExportWritesTheWholeDAG(t *testing.T) {
	a := initRepo(t, "a")
	startDaemon(t, a)
	src := filepath.Join(t.TempDir(), "letters")
	writeTree(t, src, map[string]string{"a.txt": "dear school", "sub/b.bin": strings.Repeat("beta ", 300000)})
	dir := t.TempDir()
	for _, unencrypted := range []bool{false, true} {
		args := []string{"add", src}
		if unencrypted {
			args = append(args, "--unencrypted")
		}
		var added node.AddResult
		cairnJSON(t, a, &added, args...)
		byCID, byCap := filepath.Join(dir, added.CID+".car"), filepath.Join(dir, added.CID+"-cap.car")
		cairn(t, a, "export", added.CID, "-o", byCID)
		cairn(t, a, "export", added.Capability, "-o", byCap)
		roots, blocks := readCAR(t, byCID)
		wantRoot := added.CID
		if unencrypted { // a public object's bundle is its UnixFS DAG
			wantRoot = added.IPFS
		}
		if len(roots) != 1 || roots[0].String() != wantRoot {
			t.Fatalf("roots %v, want [%s]", roots, wantRoot)
		}
		seen := map[cid.Cid]bool{}
		for _, c := range blocks {
			if seen[c] {
				t.Fatalf("block %s twice in the bundle", c)
			}
			seen[c] = true
		}
		if !seen[roots[0]] || len(blocks) < 3 {
			t.Fatalf("%d blocks, root included %v", len(blocks), seen[roots[0]])
		}
		one, _ := os.ReadFile(byCID)
		two, _ := os.ReadFile(byCap)
		if out := cairn(t, a, "export", added.CID, "-o", "-"); !bytes.Equal(one, two) || out != string(one) {
			t.Fatal("the bundles by object ID, by capability and on standard output differ")
		}
	}

	missing := "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
	out, err := cairnResult(t, a, nil, "export", missing, "-o", filepath.Join(dir, "missing.car"))
	if err == nil || !strings.Contains(out, "export") {
		t.Fatalf("export of an object nobody holds: %v\n%s", err, out)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), "missing") {
			t.Fatalf("a failed export left %s behind", e.Name())
		}
	}
}

// TestGetToStandardOutput: `get -o -` writes a single file's contents to
// standard output (no file named "-"), and for a directory says to write
// it to one.
func TestGetToStandardOutput(t *testing.T) {
	a := initRepo(t, "a")
	startDaemon(t, a)
	dir := t.TempDir()
	body := strings.Repeat("a letter to standard output\n", 20000)
	writeTree(t, dir, map[string]string{"letter.txt": body, "tree/a.txt": "a", "tree/b.txt": "b"})
	var file, tree node.AddResult
	cairnJSON(t, a, &file, "add", filepath.Join(dir, "letter.txt"))
	cairnJSON(t, a, &tree, "add", filepath.Join(dir, "tree"))
	work := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := cairnCmd(ctx, a, "get", file.Capability, "-o", "-")
	cmd.Dir = work
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stdout.String() != body {
		t.Fatalf("get -o - of one file: %v, %d bytes out, want %d\n%s", err, stdout.Len(), len(body), stderr.String())
	}
	if _, err := os.Stat(filepath.Join(work, "-")); err == nil {
		t.Fatal("get -o - wrote a file named -")
	}
	out, err := cairnResult(t, a, nil, "get", tree.Capability, "-o", "-")
	if err == nil || !strings.Contains(out, "-o DIR") {
		t.Fatalf("get -o - of a directory: %v\n%s", err, out)
	}
}

// TestGetWithACIDSaysWhatToUse: a CID where a capability belongs is a
// clear error that names the commands that take a CID.
func TestGetWithACIDSaysWhatToUse(t *testing.T) {
	a := initRepo(t, "a")
	startDaemon(t, a)
	src := filepath.Join(t.TempDir(), "note.txt")
	if err := os.WriteFile(src, []byte("public"), 0o644); err != nil {
		t.Fatal(err)
	}
	var added node.AddResult
	cairnJSON(t, a, &added, "add", "--unencrypted", src)
	out, err := cairnResult(t, a, nil, "get", added.IPFS, "-o", filepath.Join(t.TempDir(), "out"))
	if err == nil || !strings.Contains(out, "not a capability") || !strings.Contains(out, "cairn export") {
		t.Fatalf("get with a CID: %v\n%s", err, out)
	}
}
