package eventlog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"sort"

	"github.com/cairn-fed/cairn/netstat"
)

// Since returns the stored events after the cursor, in order, read from
// disk; the zero cursor starts at the oldest kept event. It ends at the
// last event synced when it gets there. A cursor past the end yields
// ErrCursorAhead, one older than the oldest kept event ErrCursorExpired;
// an error is yielded once, as the last pair.
func (l *Log) Since(ctx context.Context, after netstat.Cursor) iter.Seq2[netstat.Event, error] {
	return func(yield func(netstat.Event, error) bool) {
		r, err := l.newReader(after)
		if err != nil {
			yield(netstat.Event{}, err)
			return
		}
		defer r.close()
		for {
			if err := ctx.Err(); err != nil {
				yield(netstat.Event{}, fmt.Errorf("read events: %w", err))
				return
			}
			ev, ok, err := r.read()
			if err != nil {
				yield(netstat.Event{}, err)
				return
			}
			if !ok || !yield(ev, nil) {
				return
			}
		}
	}
}

// CheckCursor reports whether reading after the cursor can start: nil,
// or an error wrapping ErrCursorAhead, ErrCursorExpired or ErrClosed.
func (l *Log) CheckCursor(after netstat.Cursor) error {
	_, err := l.startSeq(after)
	return err
}

// startSeq returns the seq of the first event to read after the cursor.
func (l *Log) startSeq(after netstat.Cursor) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	oldest, next := l.segs[0].first, skipGap(l.forks, after.Seq()+1)
	switch {
	case l.closed:
		return 0, ErrClosed
	case after.Seq() > l.durableSeq:
		return 0, fmt.Errorf("%w: cursor is at event %d, the log ends at event %d (was it reset?)", ErrCursorAhead, after.Seq(), l.durableSeq)
	case after.Seq() == 0:
		return oldest, nil
	case next < oldest:
		return 0, expired(next, oldest)
	}
	return next, nil
}

func expired(want, oldest uint64) error {
	return fmt.Errorf("%w: event %d was deleted by retention; the oldest available cursor is %q (event %d onwards)",
		ErrCursorExpired, want, netstat.CursorAt(oldest-1).String(), oldest)
}

// locate returns the segment holding event seq, with its synced size;
// ok is false when seq has not been synced yet.
func (l *Log) locate(seq uint64) (seg segment, ok bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return segment{}, false, ErrClosed
	case seq > l.durableSeq:
		return segment{}, false, nil
	case seq < l.segs[0].first:
		return segment{}, false, expired(seq, l.segs[0].first)
	}
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].first > seq }) - 1
	return l.segs[i], true, nil
}

// reader reads synced events in order from the segment files.
type reader struct {
	l        *Log
	next     uint64 // seq of the next event to return
	segFirst uint64 // segment open in f, 0 when none
	f        *os.File
	src      *syncedPart
	rr       *recordReader
}

func (l *Log) newReader(after netstat.Cursor) (*reader, error) {
	next, err := l.startSeq(after)
	if err != nil {
		return nil, fmt.Errorf("read events after %d: %w", after.Seq(), err)
	}
	return &reader{l: l, next: next}, nil
}

// read returns the next event; ok is false at the end of the synced log.
func (r *reader) read() (ev netstat.Event, ok bool, err error) {
	r.next = skipGap(r.l.forks, r.next)
	seg, ok, err := r.l.locate(r.next)
	if err != nil || !ok {
		return netstat.Event{}, false, err
	}
	if r.f == nil || seg.first != r.segFirst {
		if err := r.open(seg.first); err != nil {
			return netstat.Event{}, false, err
		}
	}
	r.src.limit = seg.size
	ev, err = r.scanTo(r.next)
	if err != nil {
		return netstat.Event{}, false, fmt.Errorf("read event %d from %s: %w", r.next, r.f.Name(), err)
	}
	r.next++
	return ev, true, nil
}

// open switches to the segment whose first event is first.
func (r *reader) open(first uint64) error {
	r.close()
	f, err := os.Open(segmentPath(r.l.dir, first))
	if errors.Is(err, fs.ErrNotExist) { // retention deleted it meanwhile
		return expired(r.next, r.l.Start().Seq()+1)
	}
	if err != nil {
		return fmt.Errorf("open segment: %w", err)
	}
	r.f, r.segFirst = f, first
	r.src = &syncedPart{f: f}
	r.rr = &recordReader{br: bufio.NewReaderSize(r.src, 64<<10)}
	magic := make([]byte, len(segmentMagic))
	r.src.limit = int64(len(magic))
	if _, err := io.ReadFull(r.rr.br, magic); err != nil || string(magic) != segmentMagic {
		return fmt.Errorf("open segment %s: %w: bad magic", f.Name(), ErrCorrupt)
	}
	r.rr.off = int64(len(magic))
	return nil
}

// scanTo reads records until the one of event want.
func (r *reader) scanTo(want uint64) (netstat.Event, error) {
	for {
		h, err := r.rr.nextHeader()
		if errors.Is(err, io.EOF) {
			return netstat.Event{}, fmt.Errorf("%w: event missing", ErrCorrupt)
		}
		if err != nil {
			return netstat.Event{}, err
		}
		switch {
		case h.seq < want:
			err = r.rr.skip(h)
		case h.seq > want:
			return netstat.Event{}, fmt.Errorf("%w: found event %d instead", ErrCorrupt, h.seq)
		default:
			p, err := r.rr.payload(h)
			if err != nil {
				return netstat.Event{}, err
			}
			return decodeEvent(h.seq, p)
		}
		if err != nil {
			return netstat.Event{}, err
		}
	}
}

func (r *reader) close() {
	if r.f != nil {
		_ = r.f.Close()
		r.f, r.segFirst = nil, 0
	}
}

// syncedPart reads a segment file up to its synced size, which grows
// while the segment is active.
type syncedPart struct {
	f     *os.File
	off   int64
	limit int64
}

func (p *syncedPart) Read(b []byte) (int, error) {
	if p.off >= p.limit {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.limit-p.off)]
	n, err := p.f.ReadAt(b, p.off)
	p.off += int64(n)
	if n > 0 && errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}
