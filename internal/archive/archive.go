// Package archive moves file trees through tar streams between the CLI and
// the daemon: the CLI tars a directory for `cairn add` and unpacks the
// daemon's stream for `cairn get`, refusing entries that would escape the
// output directory.
package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// ErrUnsafePath means a tar entry's name would land outside the output.
var ErrUnsafePath = errors.New("archive: unsafe path in stream")

// Size returns the bytes of regular files under root, for progress display.
func Size(root string) (int64, error) {
	var total int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			total += fi.Size()
		}
		return nil
	})
	return total, err
}

// ErrSpecialFile means a tree holds something that is neither a file, a
// directory nor a symbolic link (a device, socket or pipe).
var ErrSpecialFile = errors.New("archive: not a regular file, directory or symbolic link")

// WriteTree writes the file or directory root to w as a tar stream, in
// lexical order: one top-level entry named after root, everything else
// below it. Files keep their permission bits, symbolic links their target;
// a device, socket or pipe fails the stream with an error naming it, as
// does anything unreadable, so nothing is dropped silently.
func WriteTree(w io.Writer, root string) error {
	tw := tar.NewWriter(w)
	base := filepath.Base(filepath.Clean(root))
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		return writeEntry(tw, p, path.Join(base, filepath.ToSlash(rel)), d)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

func writeEntry(tw *tar.Writer, p, name string, d fs.DirEntry) error {
	fi, err := d.Info()
	if err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	switch {
	case fi.IsDir():
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: int64(fi.Mode().Perm())})
	case fi.Mode().IsRegular():
		return writeFile(tw, p, name, fi)
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777})
	default:
		return fmt.Errorf("%w: %s (%s); move it out of the tree, or add the files around it one by one", ErrSpecialFile, p, fi.Mode().Type())
	}
}

func writeFile(tw *tar.Writer, p, name string, fi fs.FileInfo) error {
	f, err := openListed(p, fi)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(fi.Mode().Perm()), Size: fi.Size()}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	return nil
}

// ErrChanged means a file was replaced (by a symbolic link, a special file
// or another file) between listing the tree and reading it.
var ErrChanged = errors.New("archive: file changed while being read")

// beforeOpen runs between listing a file and opening it; tests use it to
// swap the file in that window.
var beforeOpen = func(path string) {}

// openListed opens the regular file p that the walk listed as fi, without
// following a symbolic link at p, and checks that the opened file is the
// listed one (same device and inode, still regular). Otherwise a file
// swapped for a link in between would add whatever the link points to.
func openListed(p string, fi fs.FileInfo) (*os.File, error) {
	beforeOpen(p)
	f, err := os.OpenFile(p, os.O_RDONLY|openNoFollow, 0)
	if isSymlinkError(err) {
		return nil, fmt.Errorf("%w: %s became a symbolic link after it was listed; add it again", ErrChanged, p)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	opened, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if !opened.Mode().IsRegular() || !os.SameFile(fi, opened) {
		f.Close()
		now := "another file"
		if !opened.Mode().IsRegular() {
			now = "a " + opened.Mode().Type().String() + " special file"
		}
		return nil, fmt.Errorf("%w: %s was replaced by %s after it was listed; add it again", ErrChanged, p, now)
	}
	return f, nil
}

// Extract unpacks a tar stream into out, which must not exist yet. An
// object holds one top-level entry, named after what was added: a file is
// written as the file out, a directory's contents go into the directory out.
// With asDir, every entry is written below the directory out as it is named.
// Everything is written under a temporary name beside out and renamed into
// place at the end, so a failed get leaves nothing at out.
func Extract(r io.Reader, out string, asDir bool) error {
	return ExtractCounting(r, out, asDir, nil)
}

// ExtractCounting is Extract that adds the bytes of file contents it
// writes to written, if not nil, as it goes: for a progress bar.
func ExtractCounting(r io.Reader, out string, asDir bool, written *atomic.Int64) error {
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("%s exists already; choose another output path", out)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".partial-*")
	if err != nil {
		return fmt.Errorf("create output beside %s: %w", out, err)
	}
	defer os.RemoveAll(tmp)
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return err
	}
	defer root.Close()
	x := &extractor{root: root, dir: tmp, asDir: asDir, written: written}
	if err := x.run(tar.NewReader(r)); err != nil {
		return err
	}
	if x.single != "" {
		return os.Rename(x.single, out)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

// extractor unpacks one stream. Every write goes through root, so no entry
// (not even one below a symbolic link the stream created) lands outside it.
type extractor struct {
	root   *os.Root
	dir    string
	asDir  bool
	top    string // the top-level directory being stripped, once known
	single string // the path of a lone top-level file, once written

	written *atomic.Int64 // bytes of file contents written; may be nil
	buf     []byte        // for copying file contents, allocated once
}

func (x *extractor) run(tr *tar.Reader) error {
	for first := true; ; first = false {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read stream: %w", err)
		}
		name, err := x.place(hdr, first)
		if err != nil {
			return err
		}
		target, err := safePath(name)
		if err != nil {
			return err
		}
		if err := x.entry(tr, hdr, target); err != nil {
			return err
		}
	}
}

// place decides where an entry goes relative to the output.
func (x *extractor) place(hdr *tar.Header, first bool) (string, error) {
	name := strings.TrimSuffix(hdr.Name, "/")
	switch {
	case x.asDir:
		return name, nil
	case x.single != "":
		return "", fmt.Errorf("object holds more than one top-level entry (%q after a file); use --dir", name)
	case first && hdr.Typeflag == tar.TypeReg && !strings.Contains(name, "/"):
		x.single = filepath.Join(x.dir, "file")
		return "file", nil
	case first && hdr.Typeflag == tar.TypeDir:
		x.top = name + "/"
		return ".", nil
	}
	rest, ok := strings.CutPrefix(name, x.top)
	if x.top == "" || !ok {
		return "", fmt.Errorf("object holds more than one top-level entry (%q); use --dir", name)
	}
	return rest, nil
}

func (x *extractor) entry(tr *tar.Reader, hdr *tar.Header, target string) error {
	switch hdr.Typeflag {
	case tar.TypeDir:
		return x.root.MkdirAll(target, 0o755)
	case tar.TypeReg:
		if err := x.root.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return x.writeOut(tr, target, fs.FileMode(hdr.Mode).Perm())
	case tar.TypeSymlink:
		if err := x.root.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return x.root.Symlink(hdr.Linkname, target)
	default:
		return fmt.Errorf("%w: entry %q of type %q", ErrSpecialFile, hdr.Name, hdr.Typeflag)
	}
}

func (x *extractor) writeOut(r io.Reader, target string, perm fs.FileMode) error {
	if perm == 0 {
		perm = 0o644
	}
	f, err := x.root.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	if x.buf == nil {
		x.buf = make([]byte, copyBuffer)
	}
	if _, err := io.CopyBuffer(countingWriter{f, x.written}, r, x.buf); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", target, err)
	}
	return f.Close()
}

// copyBuffer is the largest write of file contents: large sequential
// writes, where io.Copy into a file makes 32 KiB ones.
const copyBuffer = 1 << 20

// countingWriter writes to w and counts what it wrote into n, if not nil.
// It hides w's ReadFrom, so copies use their own, larger buffer.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if c.n != nil {
		c.n.Add(int64(n))
	}
	return n, err
}

// safePath cleans a stream's slash path into a relative local path,
// refusing absolute paths and escapes.
func safePath(name string) (string, error) {
	clean := path.Clean(name)
	if name == "" || path.IsAbs(name) || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(name, "\\") {
		return "", fmt.Errorf("%w: %q", ErrUnsafePath, name)
	}
	return filepath.FromSlash(clean), nil
}
