package eventlog

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/cairn-fed/cairn/netstat"
)

// appendInBackground appends sampleEvent(1..n) from a goroutine and
// returns a function that waits for it and reports its error.
func appendInBackground(ctx context.Context, l *Log, n int) func() error {
	var wg sync.WaitGroup
	var err error
	wg.Go(func() {
		for i := 1; i <= n && err == nil; i++ {
			_, err = l.Append(ctx, sampleEvent(i))
		}
	})
	return func() error { wg.Wait(); return err }
}

// TestResumeAfterKillSeesEveryEventOnce is the "done when": a
// subscriber killed mid-stream and restarted from its last cursor sees
// every event exactly once, while a writer keeps appending.
func TestResumeAfterKillSeesEveryEventOnce(t *testing.T) {
	tests := []struct {
		name      string
		buffer    int
		interrupt int // events between kills, 0 for none
	}{
		{"killed every 7 events", 1024, 7},
		{"killed every 150 events", 1024, 150},
		{"never killed", 1024, 0},
		{"tiny buffer, may overflow and resume", 2, 0},
		{"tiny buffer, killed every 13", 2, 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			cfg := testConfig()
			cfg.SubscriberBuffer = tt.buffer
			l := openLog(t, t.TempDir(), cfg)
			defer l.Close()
			const total = 1500
			wait := appendInBackground(ctx, l, total)
			seen, resumes, err := collect(ctx, l, total, tt.interrupt)
			if werr := wait(); werr != nil {
				t.Fatalf("writer: %v", werr)
			}
			if err != nil {
				t.Fatalf("subscriber: %v", err)
			}
			checkExactlyOnce(t, seen, total)
			t.Logf("resumed %d times", resumes)
			if tt.interrupt > 0 && resumes < total/tt.interrupt-1 {
				t.Errorf("resumed %d times; want at least %d", resumes, total/tt.interrupt-1)
			}
		})
	}
}

// TestHandOffUnderConcurrentAppends starts subscribers at many points
// while a writer appends, so that hand-offs from disk to live delivery
// race with appends; each must see its suffix exactly once.
func TestHandOffUnderConcurrentAppends(t *testing.T) {
	ctx := testContext(t)
	l := openLog(t, t.TempDir(), testConfig())
	defer l.Close()
	const total = 2000
	wait := appendInBackground(ctx, l, total)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		var seen []uint64
		from := l.End()
		wg.Go(func() {
			_, err := followSome(ctx, l, from, total, 0, &seen)
			if err == nil && (len(seen) != total-int(from.Seq()) || (len(seen) > 0 && seen[0] != from.Seq()+1)) {
				err = errors.New("gap or duplicate")
			}
			for i := 1; err == nil && i < len(seen); i++ {
				if seen[i] != seen[i-1]+1 {
					err = errors.New("gap or duplicate")
				}
			}
			errs <- err
		})
		for ev, err := range l.Since(ctx, l.End()) { // let the writer move on
			_, _ = ev, err
		}
	}
	wg.Wait()
	if err := wait(); err != nil {
		t.Fatalf("writer: %v", err)
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("subscriber: %v", err)
		}
	}
}

// TestSlowSubscriberResumes fills a live subscriber's buffer: it ends with
// ErrSubscriberTooSlow after the events that fit, and Follow from its last
// cursor continues with the next event.
func TestSlowSubscriberResumes(t *testing.T) {
	ctx := testContext(t)
	cfg := testConfig()
	cfg.SubscriberBuffer = 4
	l := openLog(t, t.TempDir(), cfg)
	defer l.Close()
	appendN(t, l, 1, 3)
	sub := l.Follow(ctx, l.End())
	waitCaughtUp(t, sub)
	appendN(t, l, 4, 10) // each Append publishes before it returns

	var got []netstat.Event
	for ev := range sub.Events() {
		got = append(got, ev)
	}
	checkEvents(t, got, 4, 4)
	if !errors.Is(sub.Err(), ErrSubscriberTooSlow) {
		t.Fatalf("Err() = %v; want ErrSubscriberTooSlow", sub.Err())
	}
	sub.Close()

	again := l.Follow(ctx, got[len(got)-1].Cursor())
	defer again.Close()
	got = got[:0]
	for range 6 { // more than the buffer: catching up is paced by the reader
		got = append(got, receive(ctx, t, again))
	}
	checkEvents(t, got, 8, 6)
	select {
	case <-again.CaughtUp():
	case <-ctx.Done():
		t.Fatal("resumed subscription never caught up")
	}
	select {
	case ev := <-again.Events():
		t.Fatalf("unexpected extra event %d", ev.Seq)
	default:
	}
}

// TestSubscriptionEnds checks Err after the ways a subscription ends.
func TestSubscriptionEnds(t *testing.T) {
	l := openLog(t, t.TempDir(), testConfig())
	defer l.Close()
	appendN(t, l, 1, 3)

	ctx, cancel := context.WithCancel(testContext(t))
	live := l.Follow(ctx, netstat.Cursor{})
	waitCaughtUp(t, live)
	cancel()
	for range live.Events() { // the three stored events, then the end
	}
	if !errors.Is(live.Err(), context.Canceled) {
		t.Errorf("after cancel Err() = %v; want context.Canceled", live.Err())
	}

	closed := l.Follow(testContext(t), netstat.Cursor{})
	closed.Close()
	closed.Close()
	for range closed.Events() {
	}
	if closed.Err() != nil {
		t.Errorf("after Close Err() = %v; want nil", closed.Err())
	}
}

// receive returns the subscription's next event, failing the test at
// ctx's deadline or if it ends.
func receive(ctx context.Context, t *testing.T, sub *Subscription) netstat.Event {
	t.Helper()
	select {
	case ev, ok := <-sub.Events():
		if !ok {
			t.Fatalf("subscription ended: %v", sub.Err())
		}
		return ev
	case <-ctx.Done():
		t.Fatalf("no event before the deadline: %v", ctx.Err())
	}
	return netstat.Event{}
}
