package eventlog

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncData makes f's written data and size durable (fdatasync(2)), which
// skips the timestamp updates a full fsync would also flush.
func syncData(f *os.File) error {
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return fmt.Errorf("fdatasync %s: %w", f.Name(), err)
	}
	return nil
}
