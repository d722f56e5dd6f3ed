package object

import (
	"context"
	"errors"
	"io"

	"github.com/cairn-fed/cairn/internal/archive"
	"github.com/cairn-fed/cairn/internal/chunker"
)

func chunkerConfig(minSize, avg, maxSize int) chunker.Config {
	return chunker.Config{Min: minSize, Avg: avg, Max: maxSize}
}

// treeSource is the Source of the tree at dir as `cairn add` sends it:
// archive's tar of it (the one walker of file trees).
func treeSource(dir string) Source {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(archive.WriteTree(pw, dir)) }()
	return NewTarSource(pr)
}

// extractTo writes o's entries below out, which must not exist yet, as
// `cairn get --dir` does: through archive's extractor (the one extractor).
// An error reading the object wins over the extractor's.
func extractTo(o *Object, out string) error {
	pr, pw := io.Pipe()
	read := make(chan error, 1)
	go func() {
		err := o.WriteTar(context.Background(), pw)
		pw.CloseWithError(err)
		read <- err
	}()
	err := archive.Extract(pr, out, true)
	pr.CloseWithError(errors.New("extraction ended"))
	if rerr := <-read; rerr != nil && err != nil {
		return rerr
	}
	return err
}
