package eventlog

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/cairn-fed/cairn/netstat"
)

// segmentSamples are segment bodies (after the magic): whole records,
// torn ones and garbage.
func segmentSamples() [][]byte {
	var whole []byte
	for i := 1; i <= 3; i++ {
		p, _ := encodePayload(sampleEvent(i))
		whole = appendRecord(whole, uint64(i), p)
	}
	return [][]byte{
		whole, whole[:len(whole)-5], whole[:headerBytes+3], {},
		bytes.Repeat([]byte{0}, 64), bytes.Repeat([]byte{0xff}, 64),
		appendRecord(nil, 1, []byte("not json")),
		appendRecord(nil, 2, []byte(`{"type":"copy_verified"}`)),
	}
}

func fuzzSeeds(f *testing.F) {
	for _, s := range segmentSamples() {
		f.Add(s)
	}
}

// FuzzScanSegment checks that recovery's scan never reads past its input
// and that the prefix it keeps scans cleanly to the same last seq.
func FuzzScanSegment(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		res := scanSegment(bytes.NewReader(body), 1)
		kept := res.valid - int64(len(segmentMagic))
		if kept < 0 || kept > int64(len(body)) {
			t.Fatalf("valid prefix %d bytes of a %d-byte body", kept, len(body))
		}
		again := scanSegment(bytes.NewReader(body[:kept]), 1)
		if again.err != nil || again.lastSeq != res.lastSeq || again.valid != res.valid {
			t.Fatalf("rescan of kept prefix = %+v; want %+v without error", again, res)
		}
	})
}

// TestOpenDamagedSegment opens a log whose only segment holds each sample
// body: Open must repair or refuse it, never panic, and a repaired log must
// read back without error and keep appending. (Each case syncs to disk, so
// it is too slow to fuzz; FuzzScanSegment fuzzes the recovery scan itself.)
func TestOpenDamagedSegment(t *testing.T) {
	for i, body := range segmentSamples() {
		t.Run(fmt.Sprint(i), func(t *testing.T) { openDamaged(t, body) })
	}
}

func openDamaged(t *testing.T, body []byte) {
	dir := t.TempDir()
	if err := os.WriteFile(segmentPath(dir, 1), append([]byte(segmentMagic), body...), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := Open(dir, testConfig(), discard)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	defer l.Close()
	n := 0
	for _, err := range l.Since(context.Background(), netstat.Cursor{}) {
		if err != nil {
			// A record with a valid checksum but a payload we did not
			// write (not JSON) is reported, not skipped.
			return
		}
		n++
	}
	ev, err := l.Append(context.Background(), sampleEvent(1))
	if err != nil || ev.Seq != uint64(n)+1 {
		t.Fatalf("Append after reading %d events = seq %d, %v", n, ev.Seq, err)
	}
}
