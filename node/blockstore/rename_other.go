//go:build !linux

package blockstore

import (
	"errors"
	"fmt"
)

// renameNoReplace is unsupported where the system has no renameat2: the
// store then checks for the name before renaming, and its usage count can
// be off by a block when two writers publish the same block at once.
func renameNoReplace(from, _ string) error {
	return fmt.Errorf("rename %s without replacing: %w", from, errors.ErrUnsupported)
}
