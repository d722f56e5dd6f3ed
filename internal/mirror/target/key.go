package target

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cairn-fed/cairn/internal/mirror"
)

// ErrBadKey means a key is not a plain name at the target.
var ErrBadKey = errors.New("target: a key must be a plain name (no path, no leading dot)")

// checkKey refuses a key with a path separator or "..", or a hidden name
// other than the state's. The runner makes keys with mirror.Key from
// valid CIDs only; this is the last line against a bug or a tampered
// input turning a put or a removal into one outside the target or onto
// a file of the target's own (its lock, a temporary file).
func checkKey(key string) error {
	if key == mirror.StateKey {
		return nil
	}
	if key == "" || strings.ContainsAny(key, "/\\\x00") || strings.Contains(key, "..") || strings.HasPrefix(key, ".") {
		return fmt.Errorf("%w: %q", ErrBadKey, key)
	}
	return nil
}

// isObjectKey reports whether key names an object in either format.
func isObjectKey(key string) bool {
	_, car := mirror.ObjectOf(key, mirror.FormatCAR)
	_, tar := mirror.ObjectOf(key, mirror.FormatDecrypted)
	return car || tar
}
