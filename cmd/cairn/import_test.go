package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"

	"github.com/cairn-fed/cairn/internal/cartest"
	"github.com/cairn-fed/cairn/node"
)

// TestImportRoundTrip: bundles exported by one node import on another,
// which then reads them with the first node's capability: a public object
// (its UnixFS DAG) and an encrypted one (ciphertext, opened by the
// capability alone). Importing one's own export again changes nothing.
func TestImportRoundTrip(t *testing.T) {
	a, b := initRepo(t, "a"), initRepo(t, "b")
	startDaemon(t, a)
	startDaemon(t, b)
	src := filepath.Join(t.TempDir(), "letters")
	files := map[string]string{"a.txt": "dear school", "sub/b.bin": strings.Repeat("beta ", 300000)}
	writeTree(t, src, files)
	dir := t.TempDir()
	for _, unencrypted := range []bool{true, false} {
		args := []string{"add", src}
		if unencrypted {
			args = append(args, "--unencrypted")
		}
		var added node.AddResult
		cairnJSON(t, a, &added, args...)
		bundle := filepath.Join(dir, added.CID+".car")
		cairn(t, a, "export", added.CID, "-o", bundle)

		var imported node.ImportResult
		cairnJSON(t, b, &imported, "import", bundle)
		if imported.Encrypted == unencrypted || imported.New < 3 || imported.Blocks != imported.New {
			t.Fatalf("import of the %s bundle: %+v", map[bool]string{true: "public", false: "encrypted"}[unencrypted], imported)
		}
		if unencrypted && imported.DAG != added.IPFS {
			t.Fatalf("imported DAG %s, exported %s", imported.DAG, added.IPFS)
		}
		// An encrypted bundle opens with the capability it was added with;
		// a public one is the importer's own object.
		out := filepath.Join(t.TempDir(), "out")
		capability := added.Capability
		if unencrypted {
			capability = imported.Capability
		}
		cairn(t, b, "get", capability, "-o", out)
		for name, body := range files {
			got, err := os.ReadFile(filepath.Join(out, name))
			if err != nil || string(got) != body {
				t.Fatalf("%s read back on the importing node: %d bytes, %v", name, len(got), err)
			}
		}
		var again node.ImportResult
		cairnJSON(t, b, &again, "import", bundle)
		if again.CID != imported.CID || again.New != 0 {
			t.Fatalf("a second import of one bundle: %+v, first %+v", again, imported)
		}
	}
	var mine node.ImportResult
	var added node.AddResult
	cairnJSON(t, a, &added, "add", filepath.Join(src, "a.txt"))
	bundle := filepath.Join(dir, "mine.car")
	cairn(t, a, "export", added.CID, "-o", bundle)
	cairnJSON(t, a, &mine, "import", bundle)
	if mine.CID != added.CID {
		t.Fatalf("importing one's own export made %s, want the object %s back", mine.CID, added.CID)
	}
}

// TestImportRefusesBadBundles: each broken bundle is a clear error, and
// leaves no object listed and no block stored.
func TestImportRefusesBadBundles(t *testing.T) {
	a := initRepo(t, "a")
	startDaemon(t, a)
	leaf := cartest.Raw(t, "a leaf that the bundle forgets")
	good := cartest.Raw(t, "a leaf that is there")
	top := dagPBNode(t, leaf.Cid(), good.Cid())
	dir := t.TempDir()
	write := func(name string, roots []cid.Cid, bs ...blocks.Block) string {
		t.Helper()
		p := filepath.Join(dir, name+".car")
		if err := os.WriteFile(p, cartest.Bundle(t, roots, bs...), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lying, _ := blocks.NewBlockWithCid([]byte("not what the cid says"), leaf.Cid())
	whole := write("whole", []cid.Cid{top.Cid()}, top, good, leaf)
	raw, _ := os.ReadFile(whole)
	truncated := filepath.Join(dir, "truncated.car")
	if err := os.WriteFile(truncated, raw[:len(raw)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	notCAR := filepath.Join(dir, "notcar.car")
	if err := os.WriteFile(notCAR, []byte("these are not the bytes of a bundle"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct{ path, want string }{
		"a block that lies":   {write("lying", []cid.Cid{top.Cid()}, top, good, lying), "does not match"},
		"a missing block":     {write("missing", []cid.Cid{top.Cid()}, top, good), "lacks block"},
		"no root":             {write("noroot", nil, top, good, leaf), "0 roots"},
		"two roots":           {write("tworoots", []cid.Cid{top.Cid(), good.Cid()}, top, good, leaf), "2 roots"},
		"a truncated bundle":  {truncated, "bad CAR bundle"},
		"not a bundle at all": {notCAR, "bad CAR bundle"},
	}
	for name, c := range cases {
		out, err := cairnResult(t, a, nil, "import", c.path)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("%s: %v, want an error saying %q\n%s", name, err, c.want, out)
		}
	}
	if out := cairn(t, a, "ls"); strings.Contains(out, "bafy") {
		t.Fatalf("a refused bundle is listed:\n%s", out)
	}
	if n := countBlockFiles(t, a); n != 0 {
		t.Fatalf("refused bundles left %d blocks behind", n)
	}
	var ok node.ImportResult
	cairnJSON(t, a, &ok, "import", whole)
	if ok.New != 3 {
		t.Fatalf("the whole bundle after the refusals: %+v", ok)
	}
}

// dagPBNode is a UnixFS file node over the given raw leaves.
func dagPBNode(t *testing.T, leaves ...cid.Cid) blocks.Block {
	t.Helper()
	n := merkledag.NodeWithData(unixfs.FilePBData(nil, 0))
	for _, c := range leaves {
		if err := n.AddRawLink("", &ipld.Link{Cid: c}); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// countBlockFiles counts the blocks stored in a repository.
func countBlockFiles(t *testing.T, repo string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(repo, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".blk") {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
