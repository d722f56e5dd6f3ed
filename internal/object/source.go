package object

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
)

// Source yields the entries of an object in order. For a file entry the
// reader returns its contents and is valid until the next call to Next.
// Next returns io.EOF after the last entry. Add closes a Source that
// implements io.Closer.
type Source interface {
	Next() (Entry, io.Reader, error)
}

// readerSource is a single file read from a stream.
type readerSource struct {
	name string
	r    io.Reader
	done bool
}

// NewReaderSource returns a Source of one file named name (a valid entry
// path) whose contents are read from r, such as standard input.
func NewReaderSource(name string, r io.Reader) Source {
	return &readerSource{name: name, r: r}
}

func (s *readerSource) Next() (Entry, io.Reader, error) {
	if s.done {
		return Entry{}, nil, io.EOF
	}
	s.done = true
	if err := ValidatePath(s.name); err != nil {
		return Entry{}, nil, err
	}
	return Entry{Path: s.name, Kind: KindFile, Mode: 0o644}, s.r, nil
}

// tarSource reads entries from a tar stream.
type tarSource struct {
	tr *tar.Reader
}

// NewTarSource returns a Source reading a tar stream. Directories, regular
// files and symlinks are supported; other entry types are an error.
// Names are cleaned of a leading "./" and trailing "/"; the "." entry and
// pax global headers (as written by git archive) are skipped. Entry paths
// must then pass ValidatePath.
func NewTarSource(r io.Reader) Source {
	return &tarSource{tr: tar.NewReader(r)}
}

func (s *tarSource) Next() (Entry, io.Reader, error) {
	for {
		hdr, err := s.tr.Next()
		if errors.Is(err, io.EOF) {
			return Entry{}, nil, io.EOF
		}
		if err != nil {
			return Entry{}, nil, fmt.Errorf("read tar stream: %w", err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(hdr.Name, "./"), "/")
		if name == "" || name == "." || hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		return tarEntry(hdr, name, s.tr)
	}
}

func tarEntry(hdr *tar.Header, name string, r io.Reader) (Entry, io.Reader, error) {
	if err := ValidatePath(name); err != nil {
		return Entry{}, nil, fmt.Errorf("tar entry: %w", err)
	}
	e := Entry{Path: name, Mode: fs.FileMode(hdr.Mode).Perm()}
	switch hdr.Typeflag {
	case tar.TypeDir:
		e.Kind = KindDir
	case tar.TypeReg:
		e.Kind, e.Size = KindFile, hdr.Size
		return e, r, nil
	case tar.TypeSymlink:
		e.Kind, e.Target = KindSymlink, hdr.Linkname
	default:
		return Entry{}, nil, fmt.Errorf("tar entry %q: unsupported type %q", name, hdr.Typeflag)
	}
	return e, nil, nil
}

// fileSource walks a file or a directory tree.
type fileSource struct {
	pending []fileEntry // entries still to yield, the next one last
	open    *os.File    // the file whose reader was last returned
}

type fileEntry struct {
	rel    string // entry path
	fsPath string
	info   fs.FileInfo
}

// NewFileSource returns a Source for the file or directory at p. A
// directory is walked recursively, children in byte order of their names;
// entry paths start with the base name of p. Symlinks inside a directory
// are stored as symlinks; p itself is followed. Errors name the path that
// failed. Close it when abandoning it before io.EOF.
func NewFileSource(p string) (Source, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("add %s: %w", p, err)
	}
	name := filepath.Base(filepath.Clean(p))
	if abs, err := filepath.Abs(p); err == nil {
		name = filepath.Base(abs)
	}
	if ValidatePath(name) != nil {
		name = "root"
	}
	return &fileSource{pending: []fileEntry{{rel: name, fsPath: p, info: info}}}, nil
}

func (s *fileSource) Next() (Entry, io.Reader, error) {
	if err := s.Close(); err != nil {
		return Entry{}, nil, err
	}
	if len(s.pending) == 0 {
		return Entry{}, nil, io.EOF
	}
	fe := s.pending[len(s.pending)-1]
	s.pending = s.pending[:len(s.pending)-1]
	e := Entry{Path: fe.rel, Mode: fe.info.Mode().Perm()}
	switch mode := fe.info.Mode(); {
	case mode.IsDir():
		e.Kind = KindDir
		return e, nil, s.pushChildren(fe)
	case mode.IsRegular():
		return s.openFile(e, fe)
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(fe.fsPath)
		if err != nil {
			return Entry{}, nil, fmt.Errorf("add %s: %w", fe.fsPath, err)
		}
		e.Kind, e.Target = KindSymlink, target
		return e, nil, nil
	default:
		return Entry{}, nil, fmt.Errorf("add %s: unsupported file type %s", fe.fsPath, fe.info.Mode().Type())
	}
}

func (s *fileSource) openFile(e Entry, fe fileEntry) (Entry, io.Reader, error) {
	f, err := os.Open(fe.fsPath)
	if err != nil {
		return Entry{}, nil, fmt.Errorf("add %s: %w", fe.fsPath, err)
	}
	s.open = f
	e.Kind, e.Size = KindFile, fe.info.Size()
	return e, f, nil // read errors are *fs.PathError, naming the file
}

// pushChildren queues a directory's children, first name on top.
func (s *fileSource) pushChildren(dir fileEntry) error {
	children, err := os.ReadDir(dir.fsPath)
	if err != nil {
		return fmt.Errorf("add %s: %w", dir.fsPath, err)
	}
	for i := len(children) - 1; i >= 0; i-- {
		child := fileEntry{rel: path.Join(dir.rel, children[i].Name()), fsPath: filepath.Join(dir.fsPath, children[i].Name())}
		if err := ValidatePath(child.rel); err != nil {
			return fmt.Errorf("add %s: %w", child.fsPath, err)
		}
		if child.info, err = children[i].Info(); err != nil {
			return fmt.Errorf("add %s: %w", child.fsPath, err)
		}
		s.pending = append(s.pending, child)
	}
	return nil
}

// Close closes the file last returned by Next, if any.
func (s *fileSource) Close() error {
	if s.open == nil {
		return nil
	}
	f := s.open
	s.open = nil
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	return nil
}
