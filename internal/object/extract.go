package object

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"time"
)

// WriteTar writes the object as a tar stream: directories, files and
// symlinks with their modes; modification times are the Unix epoch.
func (o *Object) WriteTar(ctx context.Context, w io.Writer) error {
	tw := tar.NewWriter(w)
	var stream *chunkStream // every file's chunks, read ahead across files
	if !o.header.DAG {
		var files []*Entry
		for i := range o.manifest.entries {
			if e := &o.manifest.entries[i]; e.Kind == KindFile {
				files = append(files, e)
			}
		}
		stream = o.streamChunks(ctx, files)
		defer stream.close()
	}
	for i := range o.manifest.entries {
		if err := o.writeTarEntry(ctx, tw, &o.manifest.entries[i], stream); err != nil {
			return fmt.Errorf("write tar: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write tar: %w", err)
	}
	return nil
}

// writeTarEntry writes e's header and, for a file, its contents: from
// stream, or (a DAG object, stream nil) read as the file's DAG says.
func (o *Object) writeTarEntry(ctx context.Context, tw *tar.Writer, e *Entry, stream *chunkStream) error {
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
	if stream != nil {
		return stream.writeFile(e, tw)
	}
	return o.writeContents(ctx, e, tw)
}
