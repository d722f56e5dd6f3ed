package eventlog

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cairn-fed/cairn/netstat"
)

// lastSegment returns the path of dir's last segment.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	segs, err := listSegments(dir)
	if err != nil || len(segs) == 0 {
		t.Fatalf("listSegments = %v, %v", segs, err)
	}
	return segmentPath(dir, segs[len(segs)-1].first)
}

func record(t *testing.T, seq int) []byte {
	t.Helper()
	p, err := encodePayload(sampleEvent(seq))
	if err != nil {
		t.Fatal(err)
	}
	return appendRecord(nil, uint64(seq), p)
}

func TestTornTailIsTruncated(t *testing.T) {
	tests := []struct {
		name     string
		damage   func(t *testing.T, dir string) // after events 1..5 were stored
		wantKept int
	}{
		{"half a record", func(t *testing.T, dir string) {
			appendFile(t, lastSegment(t, dir), record(t, 6)[:30])
		}, 5},
		{"header only", func(t *testing.T, dir string) {
			appendFile(t, lastSegment(t, dir), record(t, 6)[:headerBytes])
		}, 5},
		{"garbage", func(t *testing.T, dir string) {
			appendFile(t, lastSegment(t, dir), bytes.Repeat([]byte{0xff}, 37))
		}, 5},
		{"zeroed blocks", func(t *testing.T, dir string) {
			appendFile(t, lastSegment(t, dir), make([]byte, 4096))
		}, 5},
		{"whole record, wrong seq", func(t *testing.T, dir string) {
			appendFile(t, lastSegment(t, dir), record(t, 9))
		}, 5},
		{"last record's checksum broken", func(t *testing.T, dir string) {
			path := lastSegment(t, dir)
			b := readFile(t, path)
			b[len(b)-2] ^= 0x40
			writeFile(t, path, b)
		}, 4},
		{"length field torn", func(t *testing.T, dir string) {
			rec := record(t, 6)
			binary.BigEndian.PutUint32(rec, 1<<30)
			appendFile(t, lastSegment(t, dir), rec)
		}, 5},
		{"new segment with torn magic", func(t *testing.T, dir string) {
			writeFile(t, segmentPath(dir, 6), []byte(segmentMagic[:3]))
		}, 5},
		{"new segment, empty", func(t *testing.T, dir string) {
			writeFile(t, segmentPath(dir, 6), nil)
		}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir, testConfig())
			appendN(t, l, 1, 5)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			tt.damage(t, dir)

			l = openLog(t, dir, testConfig())
			defer l.Close()
			got, err := readAll(l, netstat.Cursor{})
			if err != nil {
				t.Fatalf("Since(start) after repair error %v", err)
			}
			checkEvents(t, got, 1, tt.wantKept)
			appendN(t, l, tt.wantKept+1, 3)
			got, _ = readAll(l, netstat.Cursor{})
			checkEvents(t, got, 1, tt.wantKept+3)
		})
	}
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	writeFile(t, path, append(readFile(t, path), b...))
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

const crashChildEnv = "EVENTLOG_CRASH_CHILD_DIR"

// TestCrashChild is the process TestKillDuringAppends kills: it appends
// from four goroutines and prints each acknowledged seq.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("only runs as the child of TestKillDuringAppends")
	}
	l := openLog(t, dir, Config{SegmentBytes: 8192, MaxBytes: 0, SubscriberBuffer: 16})
	acks := make(chan uint64, 64)
	for w := range 4 {
		go func() {
			for i := w; ; i += 4 {
				ev, err := l.Append(context.Background(), sampleEvent(i))
				if err != nil {
					panic(err)
				}
				acks <- ev.Seq
			}
		}()
	}
	for seq := range acks {
		os.Stdout.WriteString(strconv.FormatUint(seq, 10) + "\n")
	}
}

// TestKillDuringAppends kills -9 a process in the middle of appending and
// checks that every acknowledged event survives and the log reopens.
func TestKillDuringAppends(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked uint64
	buf := make([]byte, 0, 1<<16)
	tmp := make([]byte, 4096)
	killed := false
	for {
		n, err := out.Read(tmp)
		buf = append(buf, tmp[:n]...)
		acked = max(acked, maxAcked(buf))
		if !killed && acked >= 500 {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
		if err != nil {
			break
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("child ended before acknowledging 500 events (got %d): %s", acked, buf)
	}

	l := openLog(t, dir, testConfig())
	defer l.Close()
	got, err := readAll(l, netstat.Cursor{})
	if err != nil {
		t.Fatalf("Since(start) after kill error %v", err)
	}
	if uint64(len(got)) < acked {
		t.Fatalf("after kill -9: %d events on disk; %d were acknowledged", len(got), acked)
	}
	for i, ev := range got {
		if ev.Seq != uint64(i+1) {
			t.Fatalf("after kill -9: event #%d has seq %d", i, ev.Seq)
		}
	}
	ev, err := l.Append(context.Background(), sampleEvent(0))
	if err != nil || ev.Seq != uint64(len(got))+1 {
		t.Fatalf("Append after kill = seq %d, %v; want %d", ev.Seq, err, len(got)+1)
	}
	t.Logf("killed after %d acknowledged appends; %d events on disk", acked, len(got))
}

func maxAcked(out []byte) uint64 {
	var best uint64
	lines := strings.Split(string(out), "\n")
	for _, line := range lines[:len(lines)-1] { // the last may be cut
		if n, err := strconv.ParseUint(line, 10, 64); err == nil {
			best = max(best, n)
		}
	}
	return best
}

// TestRecoverKeepsEarlierSegments checks that a torn tail in the last
// segment leaves full earlier segments alone.
func TestRecoverKeepsEarlierSegments(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{SegmentBytes: 1024, MaxBytes: 0, SubscriberBuffer: 16}
	l := openLog(t, dir, cfg)
	appendN(t, l, 1, 60)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	path := lastSegment(t, dir)
	appendFile(t, path, []byte("torn"))
	if filepath.Base(path) == segmentName(1) {
		t.Fatal("expected several segments")
	}
	l = openLog(t, dir, cfg)
	defer l.Close()
	got, err := readAll(l, netstat.Cursor{})
	if err != nil {
		t.Fatalf("Since(start) error %v", err)
	}
	checkEvents(t, got, 1, 60)
}
