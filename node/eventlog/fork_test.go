package eventlog

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-fed/cairn/netstat"
)

// copyLog copies the files of the log in src into dst, as a snapshot's
// restore does.
func copyLog(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(dst, 0o700)
	for _, e := range entries {
		in, _ := os.Open(filepath.Join(src, e.Name()))
		out, _ := os.Create(filepath.Join(dst, e.Name()))
		io.Copy(out, in)
		in.Close()
		out.Close()
	}
}

// TestForkedLogGoesOnAfterTheGap: a log restored at event 6 of a node that
// went on to event 9 before it was lost. The restored log keeps events 1
// to 6, numbers its next event after the gap, and a reader holding any
// cursor the lost node handed out after 6 goes on with that event, not
// with a reused number; following live crosses the gap too; a second
// restore of the restored log forks again after its own last event.
func TestForkedLogGoesOnAfterTheGap(t *testing.T) {
	ctx := testContext(t)
	orig := t.TempDir()
	l := openLog(t, orig, testConfig())
	appendN(t, l, 1, 6)
	restored := filepath.Join(t.TempDir(), "events")
	copyLog(t, orig, restored)
	appendN(t, l, 7, 3) // the lost node's events after the snapshot
	lostCursor := netstat.CursorAt(8)
	l.Close()

	if err := Fork(restored, 6); err != nil {
		t.Fatal(err)
	}
	r := openLog(t, restored, testConfig())
	defer r.Close()
	sub := r.Follow(ctx, lostCursor)
	defer sub.Close()
	ev, err := r.Append(context.Background(), sampleEvent(100))
	if err != nil {
		t.Fatal(err)
	}
	resume := ev.Seq
	if resume <= 6+ForkGap || resume > 6+2*ForkGap {
		t.Fatalf("first event after the restore has seq %d, want one after a gap of %d to %d", ev.Seq, uint64(ForkGap), uint64(2*ForkGap))
	}
	for _, after := range []uint64{0, 5, 6, 7, 8, 6 + ForkGap, resume - 1} {
		got, err := readAll(r, netstat.CursorAt(after))
		if err != nil {
			t.Fatalf("read after %d: %v", after, err)
		}
		if len(got) == 0 || got[len(got)-1].Seq != resume || (after < 6 && len(got) != int(7-after)) || (after >= 6 && len(got) != 1) {
			t.Errorf("read after %d: %d events ending at %v, want every kept event then %d", after, len(got), got[len(got)-1].Seq, uint64(resume))
		}
	}
	select {
	case ev := <-sub.Events():
		if ev.Seq != resume {
			t.Errorf("a follower at the lost node's cursor got event %d, want %d", ev.Seq, uint64(resume))
		}
	case <-ctx.Done():
		t.Fatal("a follower at the lost node's cursor got nothing")
	}

	// Restored again before it recorded anything: the gaps chain.
	quiet := filepath.Join(t.TempDir(), "events")
	copyLog(t, restored, quiet)
	os.Remove(filepath.Join(quiet, segmentName(resume))) // as it was before its first event
	createSegmentFile(t, quiet, resume)
	if err := Fork(quiet, resume-1); err != nil {
		t.Fatal(err)
	}
	q := openLog(t, quiet, testConfig())
	defer q.Close()
	if ev, err := q.Append(context.Background(), sampleEvent(300)); err != nil || ev.Seq <= resume-1+ForkGap {
		t.Errorf("restored twice without an event between: seq %d, %v; want one after another gap", ev.Seq, err)
	}
	if got, err := readAll(q, netstat.CursorAt(6)); err != nil || len(got) != 1 {
		t.Errorf("reading across two gaps: %d events, %v", len(got), err)
	}

	again := filepath.Join(t.TempDir(), "events")
	copyLog(t, restored, again)
	if err := Fork(again, resume); err != nil {
		t.Fatal(err)
	}
	if err := Fork(again, 3); err == nil {
		t.Error("a fork before the last one was accepted")
	}
	a := openLog(t, again, testConfig())
	defer a.Close()
	if ev, err := a.Append(context.Background(), sampleEvent(200)); err != nil || ev.Seq <= resume+ForkGap {
		t.Errorf("after a second restore: seq %d, %v", ev.Seq, err)
	}
	if got, err := readAll(a, netstat.CursorAt(0)); err != nil || len(got) != 8 {
		t.Errorf("the twice-restored log reads %d events, %v; want 6, the first restore's, the second's", len(got), err)
	}
}

func createSegmentFile(t *testing.T, dir string, first uint64) {
	t.Helper()
	f, err := createSegment(dir, first)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestForkedLogsOfOneSnapshotDiffer: two restores of one snapshot number
// their events apart; a cursor in the gap reads on once retention removed
// everything before it, rather than being called expired.
func TestForkedLogsOfOneSnapshotDiffer(t *testing.T) {
	orig := t.TempDir()
	l := openLog(t, orig, testConfig())
	appendN(t, l, 1, 3)
	l.Close()
	first := map[uint64]bool{}
	for range 2 {
		dir := filepath.Join(t.TempDir(), "events")
		copyLog(t, orig, dir)
		if err := Fork(dir, 3); err != nil {
			t.Fatal(err)
		}
		r := openLog(t, dir, testConfig())
		ev, err := r.Append(context.Background(), sampleEvent(9))
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		first[ev.Seq] = true
		for i := uint64(1); i <= 3; i++ { // retention took the snapshot's events
			os.Remove(filepath.Join(dir, segmentName(i)))
		}
		r = openLog(t, dir, testConfig())
		got, err := readAll(r, netstat.CursorAt(5))
		r.Close()
		if err != nil || len(got) != 1 || got[0].Seq != ev.Seq {
			t.Errorf("a cursor in the gap after retention: %d events, %v; want the first new event", len(got), err)
		}
	}
	if len(first) != 2 {
		t.Errorf("two restores of one snapshot both numbered their first event %v", first)
	}
}
