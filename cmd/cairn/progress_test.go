package main

import (
	"io"
	"os"
	"strings"
	"testing"
)

// TestReceiveProgressLine: get's progress, whose total is unknown, shows
// the bytes received and the rate; off a terminal it draws nothing.
func TestReceiveProgressLine(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	p := startReceiveProgress(f, 0, false)
	if _, err := io.Copy(io.Discard, p.wrap(strings.NewReader(strings.Repeat("x", 3<<20)))); err != nil {
		t.Fatal(err)
	}
	line := p.line()
	p.stop()
	if !strings.Contains(line, "3.0 MiB received") || !strings.Contains(line, "MB/s") {
		t.Errorf("progress line %q, want the bytes received and a rate", line)
	}
	if fi, _ := f.Stat(); fi.Size() != 0 {
		t.Errorf("progress drew %d bytes to a file that is not a terminal", fi.Size())
	}
}
