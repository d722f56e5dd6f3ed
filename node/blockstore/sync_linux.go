package blockstore

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncFilesystem makes every written file on root's filesystem durable
// (syncfs(2)): one journal commit and one device flush for a whole
// segment, instead of one per block. Since Linux 5.8 it reports writeback
// errors that happened since root was opened.
func syncFilesystem(root *os.File) error {
	if err := unix.Syncfs(int(root.Fd())); err != nil {
		return fmt.Errorf("syncfs %s: %w", root.Name(), err)
	}
	return nil
}

// startWriteback asks the kernel to start writing the first n bytes of f
// to the device without waiting (sync_file_range(2) with
// SYNC_FILE_RANGE_WRITE), so the device works while the batch computes
// the next blocks and a flush has little left to wait for. It is only a
// hint: it neither makes anything durable nor reports errors.
func startWriteback(f tempFile, n int) {
	if fd, ok := f.(interface{ Fd() uintptr }); ok {
		_ = unix.SyncFileRange(int(fd.Fd()), 0, int64(n), unix.SYNC_FILE_RANGE_WRITE)
	}
}
