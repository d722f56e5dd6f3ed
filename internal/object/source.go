package object

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
