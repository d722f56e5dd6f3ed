package events

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/node/blockstore"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// TestUsageReuse: a measurement is reused for max(usageMinAge, 10 times
// what it took); a failed one is not kept.
func TestUsageReuse(t *testing.T) {
	errWalk := errors.New("walk blocks: permission denied")
	for _, tc := range []struct {
		name      string
		took      time.Duration // how long each measurement takes
		fail      bool          // the first measurement fails
		after     time.Duration // when the second call comes after the first ended
		wantCalls int
	}{
		{"quick, soon", 10 * time.Millisecond, false, time.Second, 1},
		{"quick, past the minimum age", 10 * time.Millisecond, false, usageMinAge, 2},
		{"slow, within ten times", time.Second, false, 9 * time.Second, 1},
		{"slow, past ten times", time.Second, false, 10 * time.Second, 2},
		{"failed", 10 * time.Millisecond, true, time.Millisecond, 2},
	} {
		clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
		c := usageCache{now: clock.now}
		calls := 0
		measure := func(context.Context) (blockstore.Usage, error) {
			calls++
			clock.t = clock.t.Add(tc.took)
			if tc.fail && calls == 1 {
				return blockstore.Usage{}, errWalk
			}
			return blockstore.Usage{Bytes: int64(100 * calls)}, nil
		}
		_, err := c.get(context.Background(), measure)
		if tc.fail != (err != nil) || (tc.fail && !errors.Is(err, errWalk)) {
			t.Errorf("%s: first measurement: err %v, want failure %v wrapping %v", tc.name, err, tc.fail, errWalk)
		}
		clock.t = clock.t.Add(tc.after)
		u, err := c.get(context.Background(), measure)
		if err != nil || calls != tc.wantCalls || u.Bytes != int64(100*calls) {
			t.Errorf("%s: second call: %d bytes, err %v, %d measurements; want %d bytes, %d measurements",
				tc.name, u.Bytes, err, calls, 100*tc.wantCalls, tc.wantCalls)
		}
	}
}

// TestUsageOneWalk: while a measurement runs, no lock is held: a caller
// with an older usage gets it at once, and the first caller ever waits for
// the running measurement instead of starting another.
func TestUsageOneWalk(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := usageCache{now: clock.now}
	started, release := make(chan struct{}, 2), make(chan struct{})
	calls := 0
	slow := func(context.Context) (blockstore.Usage, error) {
		calls++
		started <- struct{}{}
		<-release
		return blockstore.Usage{Bytes: int64(calls)}, nil
	}
	first := make(chan blockstore.Usage, 2)
	go func() { u, _ := c.get(ctx, slow); first <- u }()
	<-started
	go func() { u, _ := c.get(ctx, slow); first <- u }() // waits for the running walk
	waitCtx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.get(waitCtx, slow); !errors.Is(err, context.Canceled) {
		t.Errorf("a caller whose context ended while waiting: err %v, want context.Canceled", err)
	}
	close(release)
	for range 2 {
		if u := <-first; u.Bytes != 1 {
			t.Errorf("a caller during the first walk got %d bytes, want the walk's 1", u.Bytes)
		}
	}

	clock.t = clock.t.Add(time.Hour)
	release = make(chan struct{})
	go func() { u, _ := c.get(ctx, slow); first <- u }()
	<-started
	if u, err := c.get(ctx, slow); err != nil || u.Bytes != 1 {
		t.Errorf("during a second walk: %d bytes, err %v; want the older 1 at once", u.Bytes, err)
	}
	close(release)
	if u := <-first; u.Bytes != 2 || calls != 2 {
		t.Errorf("second walk: %d bytes after %d walks, want 2 and 2", u.Bytes, calls)
	}
}
