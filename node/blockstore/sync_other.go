//go:build !linux

package blockstore

import "os"

// syncFilesystem is nil where the system has no syncfs: batches then fsync
// each file and each touched directory.
var syncFilesystem func(root *os.File) error

// startWriteback does nothing where the system has no sync_file_range.
func startWriteback(tempFile, int) {}
