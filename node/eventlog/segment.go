package eventlog

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const segmentSuffix = ".evlog"

// segment is one segment file as the log knows it.
type segment struct {
	first uint64 // seq of its first event, from its name
	size  int64  // synced bytes, magic included; readers stop there
}

func segmentName(first uint64) string {
	return fmt.Sprintf("%020d%s", first, segmentSuffix)
}

func segmentPath(dir string, first uint64) string {
	return filepath.Join(dir, segmentName(first))
}

// listSegments returns the segments in dir, oldest first, with their
// sizes on disk.
func listSegments(dir string) ([]segment, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list segments in %s: %w", dir, err)
	}
	var segs []segment
	for _, e := range entries {
		first, ok := parseSegmentName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("stat segment %s: %w", e.Name(), err)
		}
		segs = append(segs, segment{first: first, size: info.Size()})
	}
	slices.SortFunc(segs, func(a, b segment) int { return compareSeq(a.first, b.first) })
	return segs, nil
}

func compareSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	first, err := strconv.ParseUint(digits, 10, 64)
	return first, err == nil && first > 0
}

// createSegment creates the segment whose first event is first, with its
// magic synced and its directory entry durable.
func createSegment(dir string, first uint64) (*os.File, error) {
	path := segmentPath(dir, first)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create segment: %w", err)
	}
	if err := writeMagic(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("create segment %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

func writeMagic(f *os.File) error {
	if _, err := f.Write([]byte(segmentMagic)); err != nil {
		return err
	}
	return syncData(f)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// recovered is the last segment after Open repaired it.
type recovered struct {
	f       *os.File // open for writing at its end
	size    int64
	lastSeq uint64 // first-1 when it holds no event
}

// recoverSegment opens the last segment for appending, truncating a torn
// or unsynced tail at the first record that does not check out.
func recoverSegment(dir string, first uint64, logger *slog.Logger) (recovered, error) {
	path := segmentPath(dir, first)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return recovered{}, fmt.Errorf("open last segment: %w", err)
	}
	rec, err := repairSegment(f, first, logger)
	if err != nil {
		_ = f.Close()
		return recovered{}, fmt.Errorf("recover segment %s: %w", path, err)
	}
	return rec, nil
}

func repairSegment(f *os.File, first uint64, logger *slog.Logger) (recovered, error) {
	magic := make([]byte, len(segmentMagic))
	n, err := io.ReadFull(f, magic)
	if err != nil && !bytes.HasPrefix([]byte(segmentMagic), magic[:n]) {
		return recovered{}, fmt.Errorf("%w: not an event log segment", ErrCorrupt)
	}
	if err != nil { // torn while being created: start it again
		return restartSegment(f, first)
	}
	if string(magic) != segmentMagic {
		return recovered{}, fmt.Errorf("%w: not an event log segment", ErrCorrupt)
	}
	res := scanSegment(f, first)
	if res.err != nil {
		if err := truncateTail(f, res, logger); err != nil {
			return recovered{}, err
		}
	}
	if _, err := f.Seek(res.valid, io.SeekStart); err != nil {
		return recovered{}, fmt.Errorf("seek to end: %w", err)
	}
	return recovered{f: f, size: res.valid, lastSeq: res.lastSeq}, nil
}

func restartSegment(f *os.File, first uint64) (recovered, error) {
	if err := f.Truncate(0); err != nil {
		return recovered{}, fmt.Errorf("truncate torn segment: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return recovered{}, fmt.Errorf("seek to start: %w", err)
	}
	if err := writeMagic(f); err != nil {
		return recovered{}, fmt.Errorf("rewrite magic: %w", err)
	}
	return recovered{f: f, size: int64(len(segmentMagic)), lastSeq: first - 1}, nil
}

func truncateTail(f *os.File, res scanResult, logger *slog.Logger) error {
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	logger.Warn("event log: truncating torn tail", "segment", f.Name(),
		"offset", res.valid, "bytes_dropped", info.Size()-res.valid, "last_seq", res.lastSeq, "err", res.err)
	if err := f.Truncate(res.valid); err != nil {
		return fmt.Errorf("truncate torn tail: %w", err)
	}
	return syncData(f)
}
