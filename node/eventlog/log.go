package eventlog

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/cairn-fed/cairn/netstat"
)

// Log is an open event log. Its methods are safe for concurrent use.
type Log struct {
	// Set at construction.
	dir    string
	cfg    Config
	logger *slog.Logger
	sig    signals
	wg     sync.WaitGroup // the writer and every subscription goroutine
	forks  []fork         // gaps left by restores from snapshots (fork.go); set by Open, read-only after

	// Owned by the writer goroutine (by Open before it starts, by Close
	// after it ends).
	active activeSegment

	mu sync.Mutex
	// Guarded by mu.
	segs       []segment                  // oldest first; the last is active
	nextSeq    uint64                     // seq the next Append takes
	durableSeq uint64                     // last synced seq; readers stop there
	pending    *batch                     // appends the writer has not taken yet
	subs       map[*Subscription]struct{} // live subscribers
	closed     bool
	failed     error // first write or sync error; the log stays failed
}

// signals wake the writer and stop everything.
type signals struct {
	wake chan struct{} // capacity 1: the writer has a pending batch
	quit chan struct{} // closed by Close
}

// activeSegment is the last segment, open for appending.
type activeSegment struct {
	f    *os.File
	size int64 // bytes written and synced
}

// batch is a group of appends written and synced together.
type batch struct {
	buf    []byte          // their records
	events []netstat.Event // with Seq set, for live delivery
	done   chan struct{}   // closed once err is final
	err    error
}

// Open opens the log in dir, creating dir and the first segment if
// needed, and truncates a torn tail left by a crash (logged as a
// warning). The caller must hold the repository lock: one process at a
// time.
func Open(dir string, cfg Config, logger *slog.Logger) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("open event log: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open event log: %w", err)
	}
	l := &Log{
		dir: dir, cfg: cfg, logger: logger,
		sig:  signals{wake: make(chan struct{}, 1), quit: make(chan struct{})},
		subs: make(map[*Subscription]struct{}),
	}
	if err := l.load(); err != nil {
		return nil, fmt.Errorf("open event log %s: %w", dir, err)
	}
	l.applyRetention()
	l.wg.Add(1)
	go l.writeLoop()
	return l, nil
}

// load finds the segments and repairs the last one.
func (l *Log) load() error {
	forks, err := readForks(l.dir)
	if err != nil {
		return err
	}
	l.forks = forks
	segs, err := listSegments(l.dir)
	if err != nil {
		return err
	}
	if len(segs) == 0 {
		f, err := createSegment(l.dir, 1)
		if err != nil {
			return err
		}
		l.active = activeSegment{f, int64(len(segmentMagic))}
		l.segs = []segment{{first: 1, size: l.active.size}}
		l.nextSeq = 1
		return nil
	}
	last := &segs[len(segs)-1]
	rec, err := recoverSegment(l.dir, last.first, l.logger)
	if err != nil {
		return err
	}
	last.size = rec.size
	l.active = activeSegment{rec.f, rec.size}
	l.segs, l.durableSeq, l.nextSeq = segs, rec.lastSeq, rec.lastSeq+1
	return nil
}

// Append stores ev with the next sequence and returns it with Seq set,
// once it is synced to disk together with every event before it. An
// error means the event may or may not be stored: cancelling ctx stops
// the wait, not the write.
func (l *Log) Append(ctx context.Context, ev netstat.Event) (netstat.Event, error) {
	if err := ctx.Err(); err != nil {
		return netstat.Event{}, fmt.Errorf("append %s event: %w", ev.Type, err)
	}
	payload, err := encodePayload(ev)
	if err != nil {
		return netstat.Event{}, fmt.Errorf("append %s event: %w", ev.Type, err)
	}
	b, err := l.enqueue(&ev, payload)
	if err != nil {
		return netstat.Event{}, fmt.Errorf("append %s event: %w", ev.Type, err)
	}
	select {
	case l.sig.wake <- struct{}{}:
	default:
	}
	select {
	case <-b.done:
		if b.err != nil {
			return netstat.Event{}, fmt.Errorf("append event %d: %w", ev.Seq, b.err)
		}
		return ev, nil
	case <-ctx.Done():
		return netstat.Event{}, fmt.Errorf("append event %d (it may still be stored): %w", ev.Seq, ctx.Err())
	}
}

// enqueue gives ev its seq and adds its record to the pending batch.
func (l *Log) enqueue(ev *netstat.Event, payload []byte) (*batch, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return nil, ErrClosed
	case l.failed != nil:
		return nil, fmt.Errorf("event log failed earlier, reopen it: %w", l.failed)
	}
	if l.pending == nil {
		l.pending = &batch{done: make(chan struct{})}
	}
	b := l.pending
	ev.Seq = l.nextSeq
	l.nextSeq++
	b.buf = appendRecord(b.buf, ev.Seq, payload)
	b.events = append(b.events, *ev)
	return b, nil
}

// writeLoop commits pending batches until Close, then commits the last.
func (l *Log) writeLoop() {
	defer l.wg.Done()
	for {
		select {
		case <-l.sig.wake:
			l.commitPending()
		case <-l.sig.quit:
			l.commitPending()
			return
		}
	}
}

// commitPending writes and syncs the pending batch, if any, then makes
// it visible to readers and wakes its appenders.
func (l *Log) commitPending() {
	l.mu.Lock()
	b, err := l.pending, l.failed
	l.pending = nil
	l.mu.Unlock()
	if b == nil {
		return
	}
	rotated := false
	if err == nil {
		rotated, err = l.write(b)
	}
	l.finish(b, err)
	if rotated {
		l.applyRetention()
	}
}

// write appends b to the active segment, starting a new one first when
// the active one is full, and syncs it.
func (l *Log) write(b *batch) (rotated bool, err error) {
	if l.active.size >= l.cfg.SegmentBytes && l.active.size > int64(len(segmentMagic)) {
		if err := l.rotate(b.events[0].Seq); err != nil {
			return false, err
		}
		rotated = true
	}
	if _, err := l.active.f.Write(b.buf); err != nil {
		return rotated, fmt.Errorf("write segment: %w", err)
	}
	if err := syncData(l.active.f); err != nil {
		return rotated, err
	}
	l.active.size += int64(len(b.buf))
	return rotated, nil
}

// rotate makes a new segment starting at first the active one.
func (l *Log) rotate(first uint64) error {
	f, err := createSegment(l.dir, first)
	if err != nil {
		return err
	}
	if err := l.active.f.Close(); err != nil { // already synced: nothing is lost
		l.logger.Warn("event log: close full segment", "segment", l.active.f.Name(), "err", err)
	}
	l.active = activeSegment{f, int64(len(segmentMagic))}
	l.mu.Lock()
	l.segs = append(l.segs, segment{first: first, size: l.active.size})
	l.mu.Unlock()
	return nil
}

// finish publishes a synced batch, or records the failure, and releases
// its appenders.
func (l *Log) finish(b *batch, err error) {
	l.mu.Lock()
	if err == nil {
		l.segs[len(l.segs)-1].size = l.active.size
		l.durableSeq = b.events[len(b.events)-1].Seq
		l.publish(b.events)
	} else if l.failed == nil {
		l.failed = err
		l.logger.Error("event log: write failed, appends fail until reopened", "dir", l.dir, "err", err)
	}
	l.mu.Unlock()
	b.err = err
	close(b.done)
}

// applyRetention deletes the oldest segments while the log is larger
// than MaxBytes, never the active one.
func (l *Log) applyRetention() {
	if l.cfg.MaxBytes == 0 {
		return
	}
	l.mu.Lock()
	var total int64
	for _, s := range l.segs {
		total += s.size
	}
	var doomed []segment
	for len(l.segs) > 1 && total > l.cfg.MaxBytes {
		doomed = append(doomed, l.segs[0])
		total -= l.segs[0].size
		l.segs = l.segs[1:]
	}
	l.mu.Unlock()
	for _, s := range doomed {
		if err := os.Remove(segmentPath(l.dir, s.first)); err != nil {
			l.logger.Warn("event log: delete old segment", "first_seq", s.first, "err", err)
			continue
		}
		l.logger.Info("event log: deleted old segment", "first_seq", s.first, "bytes", s.size)
	}
}

// Close stops the writer after it has committed what was appended, ends
// every subscription with ErrClosed and waits for all of them.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	for s := range l.subs {
		l.endSub(s, ErrClosed)
	}
	l.mu.Unlock()
	close(l.sig.quit)
	l.wg.Wait()
	if err := l.active.f.Close(); err != nil {
		return fmt.Errorf("close event log: %w", err)
	}
	return nil
}

// End returns the cursor of the last stored event: Follow(End()) delivers
// only events appended from now on.
func (l *Log) End() netstat.Cursor {
	l.mu.Lock()
	defer l.mu.Unlock()
	return netstat.CursorAt(l.durableSeq)
}

// Start returns the cursor just before the oldest kept event, the oldest
// cursor that does not expire.
func (l *Log) Start() netstat.Cursor {
	l.mu.Lock()
	defer l.mu.Unlock()
	return netstat.CursorAt(l.segs[0].first - 1)
}

// SegmentFile is one segment as a copy of the log takes it: its file and
// how many of its bytes are synced.
type SegmentFile struct {
	Name string // the file name inside the log's directory
	Path string
	Size int64 // copy exactly these bytes: what follows is not synced yet
}

// Synced lists the segments with their synced sizes and the cursor of the
// last synced event, taken at one instant: copying each file's first Size
// bytes gives a log that opens with exactly the events up to that cursor.
// The oldest files may be deleted by retention while they are copied; a
// copier skips a file that is gone.
func (l *Log) Synced() ([]SegmentFile, netstat.Cursor) {
	l.mu.Lock()
	defer l.mu.Unlock()
	files := make([]SegmentFile, len(l.segs))
	for i, s := range l.segs {
		files[i] = SegmentFile{Name: segmentName(s.first), Path: segmentPath(l.dir, s.first), Size: s.size}
	}
	return files, netstat.CursorAt(l.durableSeq)
}
