package eventlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/netstat"
)

var discard = slog.New(slog.DiscardHandler)

// testConfig is DefaultConfig with small segments, so tests rotate.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.SegmentBytes = 4096
	return cfg
}

func openLog(t testing.TB, dir string, cfg Config) *Log {
	t.Helper()
	l, err := Open(dir, cfg, discard)
	if err != nil {
		t.Fatalf("Open(%s) = %v", dir, err)
	}
	return l
}

// testContext fails the test instead of hanging past its deadline.
func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// sampleEvent is a distinct event for each i.
func sampleEvent(i int) netstat.Event {
	types := []netstat.EventType{netstat.EventObjectAdded, netstat.EventCopyVerified, netstat.EventStateChanged, netstat.EventPeerLeft}
	ev := netstat.Event{
		At:     time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		Type:   types[i%len(types)],
		Object: fmt.Sprintf("bafyobject%06d", i),
		Peer:   "12D3KooWpeer",
		Copies: i % 5,
		Target: 3,
		Detail: fmt.Sprintf("event %d", i),
	}
	if ev.Type == netstat.EventStateChanged {
		ev.From, ev.To = netstat.StateReplicating, netstat.StateBackedUp
	}
	return ev
}

// appendN appends sampleEvent(from) .. sampleEvent(from+n-1).
func appendN(t testing.TB, l *Log, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		ev, err := l.Append(context.Background(), sampleEvent(i))
		if err != nil {
			t.Fatalf("Append(%d) = %v", i, err)
		}
		if ev.Seq != uint64(i) {
			t.Fatalf("Append(%d) got seq %d; want %d", i, ev.Seq, i)
		}
	}
}

// readAll collects Since(after) and its error.
func readAll(l *Log, after netstat.Cursor) ([]netstat.Event, error) {
	var got []netstat.Event
	for ev, err := range l.Since(context.Background(), after) {
		if err != nil {
			return got, err
		}
		got = append(got, ev)
	}
	return got, nil
}

// checkEvents fails unless got holds sampleEvent(first) onwards, n of
// them, with matching seqs.
func checkEvents(t testing.TB, got []netstat.Event, first, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("got %d events; want %d", len(got), n)
	}
	for k, ev := range got {
		i := first + k
		want := sampleEvent(i)
		want.Seq = uint64(i)
		if !ev.At.Equal(want.At) {
			t.Fatalf("event %d: got At %v; want %v", i, ev.At, want.At)
		}
		ev.At, want.At = time.Time{}, time.Time{}
		if ev != want {
			t.Fatalf("event %d: got %+v; want %+v", i, ev, want)
		}
	}
}

// collect follows the log from the start until it has seen event until,
// closing its subscription after every interrupt events (0: never) and
// resuming from the last cursor, as a subscriber killed mid-stream would;
// it also resumes after ErrSubscriberTooSlow. It returns the seqs seen
// and how many times it resumed.
func collect(ctx context.Context, l *Log, until uint64, interrupt int) ([]uint64, int, error) {
	var seen []uint64
	var cursor netstat.Cursor
	resumes := 0
	for cursor.Seq() < until {
		var err error
		if cursor, err = followSome(ctx, l, cursor, until, interrupt, &seen); err != nil {
			return seen, resumes, err
		}
		resumes++
	}
	return seen, resumes - 1, nil
}

// followSome runs one subscription and returns the cursor to resume from.
func followSome(ctx context.Context, l *Log, cursor netstat.Cursor, until uint64, interrupt int, seen *[]uint64) (netstat.Cursor, error) {
	sub := l.Follow(ctx, cursor)
	defer sub.Close()
	for n := 0; cursor.Seq() < until && (interrupt == 0 || n < interrupt); n++ {
		select {
		case ev, ok := <-sub.Events():
			if !ok {
				if errors.Is(sub.Err(), ErrSubscriberTooSlow) {
					return cursor, nil
				}
				return cursor, fmt.Errorf("subscription ended: %w", sub.Err())
			}
			*seen = append(*seen, ev.Seq)
			cursor = ev.Cursor()
		case <-ctx.Done():
			return cursor, fmt.Errorf("waiting for event after %d: %w", cursor.Seq(), ctx.Err())
		}
	}
	return cursor, nil
}

// checkExactlyOnce fails unless seen is 1, 2, ..., n.
func checkExactlyOnce(t testing.TB, seen []uint64, n int) {
	t.Helper()
	if len(seen) != n {
		t.Fatalf("saw %d events; want %d", len(seen), n)
	}
	for i, s := range seen {
		if s != uint64(i+1) {
			t.Fatalf("event #%d has seq %d; want %d (gap or duplicate)", i, s, i+1)
		}
	}
}

// waitCaughtUp waits until sub delivers live, failing the test after a
// deadline.
func waitCaughtUp(t *testing.T, sub *Subscription) {
	t.Helper()
	select {
	case <-sub.CaughtUp():
	case <-testContext(t).Done():
		t.Fatal("subscription never caught up")
	}
}
