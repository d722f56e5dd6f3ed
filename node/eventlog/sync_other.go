//go:build !linux

package eventlog

import (
	"fmt"
	"os"
)

// syncData makes f's written data durable with fsync.
func syncData(f *os.File) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", f.Name(), err)
	}
	return nil
}
