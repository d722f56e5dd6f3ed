package blockstore

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// renameNoReplace renames from to to unless to exists (renameat2(2) with
// RENAME_NOREPLACE). It returns an error wrapping fs.ErrExist when to
// exists, and one wrapping errors.ErrUnsupported where the filesystem
// cannot refuse to replace.
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("rename %s without replacing: %w", from, errors.ErrUnsupported)
	}
	if err != nil {
		return fmt.Errorf("rename %s: %w", from, err)
	}
	return nil
}
