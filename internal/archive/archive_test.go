package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTreeRoundTrip(t *testing.T) {
	src := filepath.Join(t.TempDir(), "photos")
	files := map[string]string{"a.txt": "alpha", "sub/b.txt": "beta"}
	writeFiles(t, src, files)
	os.MkdirAll(filepath.Join(src, "empty"), 0o755)
	var buf bytes.Buffer
	if err := WriteTree(&buf, src); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "restored")
	if err := Extract(&buf, out, false); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(got) != body {
			t.Errorf("%s: got %q, %v; want %q", name, got, err, body)
		}
	}
	if fi, err := os.Stat(filepath.Join(out, "empty")); err != nil || !fi.IsDir() {
		t.Errorf("empty directory missing: %v", err)
	}
	if size, _ := Size(src); size != int64(len("alpha")+len("beta")) {
		t.Errorf("Size = %d", size)
	}
}

func tarOf(t *testing.T, entries ...*tar.Header) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		body := []byte(h.Name)
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		tw.WriteHeader(h)
		if h.Typeflag == tar.TypeReg {
			tw.Write(body)
		}
	}
	tw.Close()
	return &buf
}

func reg(name string) *tar.Header { return &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644} }
func dir(name string) *tar.Header { return &tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755} }

func TestExtractSingleFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "copy.bin")
	if err := Extract(tarOf(t, reg("notes.bin")), out, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); string(got) != "notes.bin" {
		t.Errorf("content %q", got)
	}
}

func TestExtractRefuses(t *testing.T) {
	tests := []struct {
		name    string
		stream  *bytes.Buffer
		asDir   bool
		wantErr error
	}{
		{"escape with ..", tarOf(t, dir("d/"), reg("d/../../evil")), true, ErrUnsafePath},
		{"absolute path", tarOf(t, reg("/etc/passwd")), true, ErrUnsafePath},
		{"two top-level files", tarOf(t, reg("a"), reg("b")), false, nil},
		{"entry outside the top dir", tarOf(t, dir("d/"), reg("e/x")), false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			err := Extract(tt.stream, out, tt.asDir)
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("got %v, want an error (%v)", err, tt.wantErr)
			}
			if _, statErr := os.Lstat(out); statErr == nil {
				t.Error("a failed extract left output behind")
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".out.partial-*")); len(left) > 0 {
				t.Errorf("temporary output left behind: %v", left)
			}
		})
	}
}

func TestExtractRefusesExistingOutput(t *testing.T) {
	out := t.TempDir()
	if err := Extract(tarOf(t, reg("a")), out, false); err == nil {
		t.Fatal("extract over an existing path succeeded")
	}
}

func TestSymlinksAndModesSurvive(t *testing.T) {
	src := filepath.Join(t.TempDir(), "tree")
	writeFiles(t, src, map[string]string{"run.sh": "#!/bin/sh\n"})
	os.Chmod(filepath.Join(src, "run.sh"), 0o755)
	if err := os.Symlink("run.sh", filepath.Join(src, "latest")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteTree(&buf, src); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := Extract(&buf, out, false); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(out, "run.sh")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("run.sh: %v, mode %v; want 0755", err, fi.Mode().Perm())
	}
	if target, err := os.Readlink(filepath.Join(out, "latest")); err != nil || target != "run.sh" {
		t.Errorf("latest: target %q, %v; want a link to run.sh", target, err)
	}
}

func TestSpecialFilesAreRefused(t *testing.T) {
	src := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(src, "pipe"), 0o600); err != nil {
		t.Skipf("cannot make a named pipe here: %v", err)
	}
	err := WriteTree(io.Discard, src)
	if !errors.Is(err, ErrSpecialFile) || !strings.Contains(err.Error(), "pipe") {
		t.Errorf("got %v, want ErrSpecialFile naming the pipe", err)
	}
}

func TestNothingLandsOutsideThroughALink(t *testing.T) {
	outside := t.TempDir()
	stream := tarOf(t, dir("top/"), &tar.Header{Typeflag: tar.TypeSymlink, Name: "top/escape", Linkname: outside}, reg("top/escape/planted"))
	out := filepath.Join(t.TempDir(), "out")
	if err := Extract(stream, out, false); err == nil {
		t.Error("extract wrote through a symbolic link out of the output")
	}
	if _, err := os.Stat(filepath.Join(outside, "planted")); err == nil {
		t.Error("a file was planted outside the output directory")
	}
}

// TestSwappedFileIsRefused: a file replaced, between the walk listing it
// and WriteTree opening it, by a symbolic link to a secret, by another
// file or by a named pipe fails the stream with ErrChanged, naming the
// file; the secret never enters the stream.
func TestSwappedFileIsRefused(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("the secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	swaps := map[string]func(p string) error{
		"a symbolic link": func(p string) error { return os.Symlink(secret, p) },
		"another file":    func(p string) error { return os.WriteFile(p, []byte("the secret"), 0o644) },
		"a named pipe":    func(p string) error { return syscall.Mkfifo(p, 0o600) },
	}
	for name, swap := range swaps {
		t.Run(name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "tree")
			writeFiles(t, src, map[string]string{"a.txt": "innocent", "b.txt": "innocent"})
			target := filepath.Join(src, "b.txt")
			beforeOpen = func(p string) {
				if p != target {
					return
				}
				// Moved aside, not removed: a removed file's inode may be
				// reused at once for the new one.
				if err := os.Rename(p, filepath.Join(filepath.Dir(src), "moved")); err != nil {
					t.Error(err)
				}
				if err := swap(p); err != nil {
					t.Error(err)
				}
			}
			defer func() { beforeOpen = func(string) {} }()
			var buf bytes.Buffer
			err := WriteTree(&buf, src)
			if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "b.txt") {
				t.Errorf("got %v, want ErrChanged naming b.txt", err)
			}
			if bytes.Contains(buf.Bytes(), []byte("the secret")) {
				t.Error("the swapped-in content was written to the stream")
			}
		})
	}
}

// TestWalkErrorsNameThePath: a missing root and an unreadable directory
// are errors that say which path failed.
func TestWalkErrorsNameThePath(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	if err := WriteTree(io.Discard, missing); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("WriteTree of a missing root: %v, want an error naming it", err)
	}
	if os.Geteuid() == 0 {
		t.Skip("root reads unreadable directories, so the second case cannot be made")
	}
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"locked/f": "x"})
	locked := filepath.Join(root, "locked")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(locked, 0o755)
	if err := WriteTree(io.Discard, root); err == nil || !strings.Contains(err.Error(), locked) {
		t.Errorf("WriteTree of an unreadable directory: %v, want an error naming %s", err, locked)
	}
}
