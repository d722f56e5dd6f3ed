package object

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testSecret(b byte) ContentSecret {
	var s ContentSecret
	for i := range s {
		s[i] = b + byte(i)
	}
	return s
}

func randomBytes(n int, seed uint64) []byte {
	data := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(data)
	return data
}

func addBytes(t *testing.T, store BlockSink, name string, data []byte, secret ContentSecret, opts AddOptions) Result {
	t.Helper()
	res, err := Add(context.Background(), NewReaderSource(name, bytes.NewReader(data)), secret, store, opts)
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	return res
}

func readAll(t *testing.T, o *Object, path string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := o.WriteFile(context.Background(), path, &buf); err != nil {
		t.Fatalf("WriteFile(%s): %v", path, err)
	}
	return buf.Bytes()
}

func TestRoundTripReader(t *testing.T) {
	tests := []struct {
		name string
		size int
		opts AddOptions
	}{
		{"empty", 0, AddOptions{}},
		{"small", 100, AddOptions{}},
		{"several chunks", 5 << 20, AddOptions{}},
		{"unencrypted", 3 << 20, AddOptions{Unencrypted: true}},
		{"more than 1024 chunks", 300 << 10, AddOptions{Chunker: smallChunks}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newMemStore()
			data := randomBytes(tt.size, 1)
			res := addBytes(t, store, "f.bin", data, testSecret(1), tt.opts)
			if res.Encrypted == tt.opts.Unencrypted || res.Size != int64(tt.size) || res.Files != 1 {
				t.Errorf("result = %+v, want encrypted %v, size %d, 1 file", res, !tt.opts.Unencrypted, tt.size)
			}
			o, err := Open(context.Background(), res.Capability, store)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if got := readAll(t, o, "f.bin"); !bytes.Equal(got, data) {
				t.Errorf("read %d bytes, want the %d added", len(got), len(data))
			}
			if o.Header().Encrypted != res.Encrypted {
				t.Errorf("Header().Encrypted = %v, want %v", o.Header().Encrypted, res.Encrypted)
			}
		})
	}
}

// smallChunks makes many chunks from little data, to exercise deep trees.
var smallChunks = chunkerConfig(64, 128, 256)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tree")
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRoundTripDirectory adds a tree encrypted and as a public (UnixFS)
// object, and reads back every entry, mode and symlink.
func TestRoundTripDirectory(t *testing.T) {
	for name, opts := range map[string]AddOptions{"encrypted": {}, "public": {Unencrypted: true}} {
		t.Run(name, func(t *testing.T) { roundTripDirectory(t, opts) })
	}
}

func roundTripDirectory(t *testing.T, opts AddOptions) {
	big := string(randomBytes(3<<20, 2))
	files := map[string]string{
		"a.txt":           "hello",
		"empty":           "",
		"sub/b.txt":       "world",
		"sub/deeper/c":    big,
		"sub/emptydir/":   "",
		"z/also-big.bin":  big[:1<<20],
		"z/same-as-c.bin": big,
	}
	src := writeTree(t, files)
	if err := os.Symlink("a.txt", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	store := newMemStore()
	res, err := Add(context.Background(), treeSource(src), testSecret(1), store, opts)
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	o, err := Open(context.Background(), res.Capability, store)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := extractTo(o, out); err != nil {
		t.Fatalf("extract: %v", err)
	}
	for name, content := range files {
		p := filepath.Join(out, "tree", filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if info, err := os.Stat(p); err != nil || !info.IsDir() {
				t.Errorf("%s: not a directory after extract (%v)", name, err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != content {
			t.Errorf("%s: got %d bytes (%v), want %d", name, len(got), err, len(content))
		}
		if info, err := os.Stat(p); err == nil && info.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v, want 0640", name, info.Mode().Perm())
		}
	}
	if target, err := os.Readlink(filepath.Join(out, "tree", "link")); err != nil || target != "a.txt" {
		t.Errorf("link target = %q (%v), want a.txt", target, err)
	}
	wantPaths := "tree tree/a.txt tree/empty tree/link tree/sub tree/sub/b.txt tree/sub/deeper tree/sub/deeper/c tree/sub/emptydir tree/z tree/z/also-big.bin tree/z/same-as-c.bin"
	if got := entryPaths(o.Entries()); got != wantPaths {
		t.Errorf("entries = %s\nwant      %s", got, wantPaths)
	}
}

func entryPaths(entries []Entry) string {
	var paths []string
	for _, e := range entries {
		paths = append(paths, e.Path)
	}
	return strings.Join(paths, " ")
}

func TestTarRoundTrip(t *testing.T) {
	var in bytes.Buffer
	tw := tar.NewWriter(&in)
	content := randomBytes(2<<20, 3)
	for _, h := range []*tar.Header{
		{Name: "./d/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "d/f", Typeflag: tar.TypeReg, Mode: 0o600, Size: int64(len(content))},
		{Name: "d/l", Typeflag: tar.TypeSymlink, Linkname: "f", Mode: 0o777},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write(content)
		}
	}
	_ = tw.Close()
	store := newMemStore()
	res, err := Add(context.Background(), NewTarSource(&in), testSecret(1), store, AddOptions{})
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	o, err := Open(context.Background(), res.Capability, store)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := o.WriteTar(context.Background(), &out); err != nil {
		t.Fatalf("WriteTar: %v", err)
	}
	tr := tar.NewReader(&out)
	var got []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		body, _ := io.ReadAll(tr)
		got = append(got, h.Name)
		if h.Name == "d/f" && !bytes.Equal(body, content) {
			t.Errorf("d/f: got %d bytes back, want %d", len(body), len(content))
		}
	}
	if strings.Join(got, " ") != "d/ d/f d/l" {
		t.Errorf("tar entries = %v, want [d/ d/f d/l]", got)
	}
}
