package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestDemoRunsToTheEnd plays the README's first command in full, on real
// nodes over loopback, and checks the story it tells.
func TestDemoRunsToTheEnd(t *testing.T) {
	var out bytes.Buffer
	opts := DefaultOptions()
	opts.FileBytes = 1 << 20
	opts.Dir = t.TempDir()
	if err := Run(context.Background(), &out, opts); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"founds the federation", "2 regions", "appears nowhere in plaintext",
		"identical", "refused the connection", "fails too",
		"notices at once: at risk", "Repaired in",
		"dashboard is at", "#token=", "deletes the object", "blocks removed on", "object is deleted",
		"paper key", "machine burns down", "restored 2 objects", "reads back identical",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}
