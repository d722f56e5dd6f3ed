package snapshot

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRestore feeds altered snapshots to Restore: it must not panic, and
// the target is either a whole repository or absent.
func FuzzRestore(f *testing.F) {
	fix := newFixture(f, nil, true)
	f.Add(fix.data)
	f.Add(fix.data[:len(fix.data)/3])
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := filepath.Join(t.TempDir(), "r")
		_, err := Restore(context.Background(), bytes.NewReader(data), dir, fix.unlock)
		_, statErr := os.Stat(filepath.Join(dir, "config.toml"))
		if err == nil && statErr != nil {
			t.Fatalf("a restore that succeeded made no repository: %v", statErr)
		}
		if err != nil {
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Fatalf("a refused restore left %s", dir)
			}
		}
	})
}
