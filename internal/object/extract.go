package object

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"time"
)

// ExtractOptions tunes ExtractTo.
type ExtractOptions struct {
	// Overwrite replaces existing files and symlinks. Without it,
	// ExtractTo refuses before writing anything if one exists.
	Overwrite bool
}

// ExtractTo writes the object's entries under dir, creating dir if needed.
// All writes go through an os.Root, so no entry can escape dir, even
// through symlinks already there. Each file is written to a temporary
// name and renamed into place, so a failed extraction leaves no partial
// file under an entry's name. Files are not synced.
func (o *Object) ExtractTo(ctx context.Context, dir string, opts ExtractOptions) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	defer root.Close()
	if !opts.Overwrite {
		if err := o.checkAbsent(root); err != nil {
			return err
		}
	}
	for i := range o.manifest.entries {
		if err := o.extractEntry(ctx, root, &o.manifest.entries[i], opts); err != nil {
			return fmt.Errorf("extract %s: %w", o.manifest.entries[i].Path, err)
		}
	}
	return o.applyDirModes(root)
}

// checkAbsent fails if a file or symlink entry already exists, or a
// directory entry exists as something else.
func (o *Object) checkAbsent(root *os.Root) error {
	for _, e := range o.manifest.entries {
		info, err := root.Lstat(e.Path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("extract %s: %w", e.Path, err)
		}
		if e.Kind != KindDir || !info.IsDir() {
			return fmt.Errorf("extract %s: %w (set overwrite to replace it)", e.Path, fs.ErrExist)
		}
	}
	return nil
}

func (o *Object) extractEntry(ctx context.Context, root *os.Root, e *Entry, opts ExtractOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	switch e.Kind {
	case KindDir:
		return root.MkdirAll(e.Path, 0o700) // final mode applied at the end
	case KindSymlink:
		if err := root.MkdirAll(path.Dir(e.Path), 0o755); err != nil {
			return err
		}
		if opts.Overwrite {
			if err := root.Remove(e.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return root.Symlink(e.Target, e.Path)
	}
	return o.extractFile(ctx, root, e)
}

// extractFile writes a file to a temporary name and renames it in place.
func (o *Object) extractFile(ctx context.Context, root *os.Root, e *Entry) error {
	if err := root.MkdirAll(path.Dir(e.Path), 0o755); err != nil {
		return err
	}
	tmp := path.Join(path.Dir(e.Path), ".cairn-tmp-"+randomSuffix())
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = o.writeContents(ctx, e, f)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = root.Chmod(tmp, e.Mode.Perm())
	}
	if err == nil {
		err = root.Rename(tmp, e.Path)
	}
	if err != nil {
		_ = root.Remove(tmp)
	}
	return err
}

func randomSuffix() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// applyDirModes sets directory modes deepest first, so a read-only
// directory does not block writing its children.
func (o *Object) applyDirModes(root *os.Root) error {
	for _, e := range slices.Backward(o.manifest.entries) {
		if e.Kind != KindDir {
			continue
		}
		if err := root.Chmod(e.Path, e.Mode.Perm()); err != nil {
			return fmt.Errorf("extract %s: %w", e.Path, err)
		}
	}
	return nil
}

// WriteTar writes the object as a tar stream: directories, files and
// symlinks with their modes; modification times are the Unix epoch.
func (o *Object) WriteTar(ctx context.Context, w io.Writer) error {
	tw := tar.NewWriter(w)
	for i := range o.manifest.entries {
		if err := o.writeTarEntry(ctx, tw, &o.manifest.entries[i]); err != nil {
			return fmt.Errorf("write tar: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write tar: %w", err)
	}
	return nil
}

func (o *Object) writeTarEntry(ctx context.Context, tw *tar.Writer, e *Entry) error {
	hdr := &tar.Header{Name: e.Path, Mode: int64(e.Mode.Perm()), ModTime: time.Unix(0, 0)}
	switch e.Kind {
	case KindDir:
		hdr.Typeflag, hdr.Name = tar.TypeDir, e.Path+"/"
	case KindSymlink:
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.Target
	case KindFile:
		hdr.Typeflag, hdr.Size = tar.TypeReg, e.Size
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if e.Kind != KindFile {
		return nil
	}
	return o.writeContents(ctx, e, tw)
}
