//go:build unix

package archive

import (
	"errors"
	"syscall"
)

// openNoFollow makes opening a symbolic link fail (ELOOP) instead of
// following it, and opening a pipe swapped in return at once instead of
// blocking; the fstat check then refuses anything not a regular file.
const openNoFollow = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

func isSymlinkError(err error) bool { return errors.Is(err, syscall.ELOOP) }
