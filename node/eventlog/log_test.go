package eventlog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cairn-fed/cairn/netstat"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(*Config)
		wantField string // "" for valid
	}{
		{"default", func(*Config) {}, ""},
		{"keep everything", func(c *Config) { c.MaxBytes = 0 }, ""},
		{"tiny segments", func(c *Config) { c.SegmentBytes = 100 }, "eventlog.segment_bytes"},
		{"max below segment", func(c *Config) { c.MaxBytes = c.SegmentBytes - 1 }, "eventlog.max_bytes"},
		{"negative max", func(c *Config) { c.MaxBytes = -1 }, "eventlog.max_bytes"},
		{"no buffer", func(c *Config) { c.SubscriberBuffer = 0 }, "eventlog.subscriber_buffer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.edit(&cfg)
			err := cfg.Validate()
			switch {
			case tt.wantField == "" && err != nil:
				t.Errorf("Validate() = %v; want nil", err)
			case tt.wantField != "" && (err == nil || !strings.Contains(err.Error(), tt.wantField)):
				t.Errorf("Validate() = %v; want an error naming %s", err, tt.wantField)
			}
		})
	}
	if _, err := Open(t.TempDir(), Config{}, discard); err == nil {
		t.Errorf("Open with the zero Config = nil error; want one")
	}
}

func TestRoundTripAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	appendN(t, l, 1, 100)
	if err := l.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}

	l = openLog(t, dir, testConfig())
	defer l.Close()
	got, err := readAll(l, netstat.Cursor{})
	if err != nil {
		t.Fatalf("Since(start) error %v", err)
	}
	checkEvents(t, got, 1, 100)
	got, err = readAll(l, netstat.CursorAt(40))
	if err != nil {
		t.Fatalf("Since(40) error %v", err)
	}
	checkEvents(t, got, 41, 60)
	if got := l.End(); got != netstat.CursorAt(100) {
		t.Errorf("End() = seq %d; want 100", got.Seq())
	}
	appendN(t, l, 101, 5) // Seq continues after the reopen
	got, _ = readAll(l, netstat.CursorAt(99))
	checkEvents(t, got, 100, 6)
}

func TestSeqContinuesAfterManyReopens(t *testing.T) {
	dir := t.TempDir()
	for round := range 5 {
		l := openLog(t, dir, testConfig())
		appendN(t, l, round*7+1, 7)
		if err := l.Close(); err != nil {
			t.Fatalf("Close() = %v", err)
		}
	}
	l := openLog(t, dir, testConfig())
	defer l.Close()
	got, err := readAll(l, netstat.Cursor{})
	if err != nil {
		t.Fatalf("Since(start) error %v", err)
	}
	checkEvents(t, got, 1, 35)
}

func TestConcurrentAppendsGetDistinctOrderedSeqs(t *testing.T) {
	l := openLog(t, t.TempDir(), testConfig())
	defer l.Close()
	const writers, each = 8, 100
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := l.Append(context.Background(), sampleEvent(i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Append() = %v", err)
	}
	got, err := readAll(l, netstat.Cursor{})
	if err != nil {
		t.Fatalf("Since(start) error %v", err)
	}
	seqs := make([]uint64, len(got))
	for i, ev := range got {
		seqs[i] = ev.Seq
	}
	checkExactlyOnce(t, seqs, writers*each)
}

func TestCursorErrors(t *testing.T) {
	l := openLog(t, t.TempDir(), testConfig())
	defer l.Close()
	appendN(t, l, 1, 5)
	fresh := openLog(t, t.TempDir(), testConfig()) // a log that was reset
	defer fresh.Close()

	tests := []struct {
		name    string
		log     *Log
		after   netstat.Cursor
		wantN   int
		wantErr error
	}{
		{"start", l, netstat.Cursor{}, 5, nil},
		{"middle", l, netstat.CursorAt(2), 3, nil},
		{"end", l, netstat.CursorAt(5), 0, nil},
		{"one past the end", l, netstat.CursorAt(6), 0, ErrCursorAhead},
		{"far ahead", l, netstat.CursorAt(1 << 40), 0, ErrCursorAhead},
		{"reset log", fresh, netstat.CursorAt(3), 0, ErrCursorAhead},
		{"reset log from start", fresh, netstat.Cursor{}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(tt.log, tt.after)
			if !errors.Is(err, tt.wantErr) || len(got) != tt.wantN {
				t.Errorf("Since(%d) = %d events, %v; want %d, %v", tt.after.Seq(), len(got), err, tt.wantN, tt.wantErr)
			}
			if err := tt.log.CheckCursor(tt.after); !errors.Is(err, tt.wantErr) {
				t.Errorf("CheckCursor(%d) = %v; want %v", tt.after.Seq(), err, tt.wantErr)
			}
			if tt.wantErr == nil {
				return
			}
			sub := tt.log.Follow(testContext(t), tt.after)
			defer sub.Close()
			for range sub.Events() {
				t.Fatalf("Follow(%d) delivered an event; want %v", tt.after.Seq(), tt.wantErr)
			}
			if !errors.Is(sub.Err(), tt.wantErr) {
				t.Errorf("Follow(%d).Err() = %v; want %v", tt.after.Seq(), sub.Err(), tt.wantErr)
			}
		})
	}
}

func TestRotationAndRetention(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{SegmentBytes: 1024, MaxBytes: 4096, SubscriberBuffer: 16}
	l := openLog(t, dir, cfg)
	appendN(t, l, 1, 300)

	segs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, s := range segs {
		total += s.size
	}
	if len(segs) < 3 || total > cfg.MaxBytes+cfg.SegmentBytes {
		t.Fatalf("got %d segments, %d bytes; want several, at most %d bytes", len(segs), total, cfg.MaxBytes+cfg.SegmentBytes)
	}
	oldest := l.Start()
	if oldest.Seq() == 0 || oldest.Seq()+1 != segs[0].first {
		t.Fatalf("Start() = seq %d; want %d (just before the oldest segment)", oldest.Seq(), segs[0].first-1)
	}

	_, err = readAll(l, netstat.CursorAt(1))
	if !errors.Is(err, ErrCursorExpired) || !strings.Contains(err.Error(), oldest.String()) {
		t.Errorf("Since(1) error %v; want ErrCursorExpired naming %q", err, oldest.String())
	}
	for _, from := range []netstat.Cursor{{}, oldest} {
		got, err := readAll(l, from)
		if err != nil {
			t.Fatalf("Since(%d) error %v", from.Seq(), err)
		}
		checkEvents(t, got, int(oldest.Seq())+1, 300-int(oldest.Seq()))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l = openLog(t, dir, cfg)
	defer l.Close()
	if got := l.Start(); got != oldest {
		t.Errorf("after reopen Start() = %d; want %d", got.Seq(), oldest.Seq())
	}
	appendN(t, l, 301, 3)
}

func TestExpiredWhileFollowing(t *testing.T) {
	cfg := Config{SegmentBytes: 1024, MaxBytes: 2048, SubscriberBuffer: 16}
	l := openLog(t, t.TempDir(), cfg)
	defer l.Close()
	appendN(t, l, 1, 300)
	sub := l.Follow(testContext(t), netstat.CursorAt(1))
	defer sub.Close()
	for range sub.Events() {
		t.Fatal("Follow from an expired cursor delivered an event")
	}
	if !errors.Is(sub.Err(), ErrCursorExpired) {
		t.Errorf("Err() = %v; want ErrCursorExpired", sub.Err())
	}
}

func TestClose(t *testing.T) {
	l := openLog(t, t.TempDir(), testConfig())
	appendN(t, l, 1, 3)
	live := l.Follow(testContext(t), l.End())
	waitCaughtUp(t, live)
	if err := l.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close() = %v; want nil", err)
	}
	for range live.Events() {
		t.Fatal("live subscription got an event after Close")
	}
	if !errors.Is(live.Err(), ErrClosed) {
		t.Errorf("live subscription Err() = %v; want ErrClosed", live.Err())
	}
	if _, err := l.Append(context.Background(), sampleEvent(4)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close = %v; want ErrClosed", err)
	}
	late := l.Follow(context.Background(), netstat.Cursor{})
	<-late.exited
	if !errors.Is(late.Err(), ErrClosed) {
		t.Errorf("Follow after Close: Err() = %v; want ErrClosed", late.Err())
	}
}

func TestAppendRejectsHugeEvent(t *testing.T) {
	l := openLog(t, t.TempDir(), testConfig())
	defer l.Close()
	ev := sampleEvent(1)
	ev.Detail = strings.Repeat("x", MaxEventBytes)
	if _, err := l.Append(context.Background(), ev); !errors.Is(err, ErrEventTooLarge) {
		t.Errorf("Append(huge) = %v; want ErrEventTooLarge", err)
	}
	appendN(t, l, 1, 1) // the seq was not consumed
}

func TestNotASegment(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, segmentName(1)), []byte("something else entirely"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, testConfig(), discard); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Open over a foreign file = %v; want ErrCorrupt", err)
	}
}
