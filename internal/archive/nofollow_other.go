//go:build !unix

package archive

// openNoFollow is empty where the system has no O_NOFOLLOW; the check
// that the opened file is the listed one still refuses a swapped file.
const openNoFollow = 0

func isSymlinkError(error) bool { return false }
