package runner_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/cairn-fed/cairn/internal/mirror"
	"github.com/cairn-fed/cairn/internal/mirror/runner"
	"github.com/cairn-fed/cairn/internal/mirror/target"
	"github.com/cairn-fed/cairn/netstat"
)

// id is the CID of a raw block holding name: tests name objects "a",
// "b", and the runner sees real object IDs.
func id(name string) string {
	h, err := multihash.Sum([]byte(name), multihash.SHA2_256, -1)
	if err != nil {
		panic(err)
	}
	return cid.NewCidV1(cid.Raw, h).String()
}

// fakeNode is a daemon in memory: live objects and an event log.
type fakeNode struct {
	mu       sync.Mutex
	id       string
	live     map[string]string // guarded by mu; CID -> contents
	events   []netstat.Event   // guarded by mu
	oldest   uint64            // guarded by mu; cursors before this are expired
	notify   chan struct{}     // closed and replaced when an event is added
	openFail error             // guarded by mu; every Open fails with it
	broken   map[string]error  // guarded by mu; Open of these CIDs fails
	catching bool              // guarded by mu; catching up after a restore
	hidden   map[string]bool   // guarded by mu; live, but left out of Live (not learned yet)
}

func newFakeNode(id string) *fakeNode {
	return &fakeNode{id: id, live: map[string]string{}, broken: map[string]error{}, hidden: map[string]bool{}, notify: make(chan struct{})}
}

func (f *fakeNode) add(cid, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.live[cid] = body
	f.emit(netstat.EventObjectAdded, cid)
}

func (f *fakeNode) del(cid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.live, cid)
	f.emit(netstat.EventTombstoneApplied, cid)
}

func (f *fakeNode) emit(t netstat.EventType, cid string) {
	f.events = append(f.events, netstat.Event{Seq: uint64(len(f.events) + 1), Type: t, Object: cid})
	close(f.notify)
	f.notify = make(chan struct{})
}

func (f *fakeNode) CatchingUp(context.Context) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.catching, nil
}

// restored makes the node one restored from a snapshot that lacks the
// objects named (catching up), or one that has caught up (nil).
func (f *fakeNode) restored(lacks ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.catching, f.hidden = lacks != nil, map[string]bool{}
	for _, c := range lacks {
		f.hidden[c] = true
	}
}

func (f *fakeNode) NodeID(context.Context) (string, error) { return f.id, nil }

func (f *fakeNode) Live(context.Context) ([]mirror.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []mirror.Object
	for c := range f.live {
		if !f.hidden[c] {
			out = append(out, mirror.Object{CID: c})
		}
	}
	return out, nil
}

func (f *fakeNode) Events(ctx context.Context, since string, follow bool, each func(netstat.Event) error) (string, error) {
	var after uint64
	if since != "" {
		c, err := netstat.ParseCursor(since)
		if err != nil {
			return since, err
		}
		after = c.Seq()
	}
	for {
		f.mu.Lock()
		if after < f.oldest || after > uint64(len(f.events)) {
			f.mu.Unlock()
			return since, fmt.Errorf("%w: cursor %d", runner.ErrCursor, after)
		}
		evs, wake := f.events[after:], f.notify
		f.mu.Unlock()
		for _, ev := range evs {
			if err := each(ev); err != nil {
				return netstat.CursorAt(after).String(), err
			}
			after = ev.Seq
		}
		if !follow {
			return netstat.CursorAt(after).String(), nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return netstat.CursorAt(after).String(), ctx.Err()
		}
	}
}

func (f *fakeNode) Open(_ context.Context, o mirror.Object, _ mirror.Format) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.openFail != nil {
		return nil, f.openFail
	}
	if err := f.broken[o.CID]; err != nil {
		return nil, err
	}
	return io.NopCloser(strings.NewReader(f.live[o.CID])), nil
}

func newRunner(t *testing.T, n *fakeNode, tg runner.Target, follow bool, pol mirror.Policy) *runner.Runner {
	t.Helper()
	r, err := runner.New(n, tg, runner.Config{
		Format: mirror.FormatCAR, Policy: pol, Follow: follow, RetryMax: 50 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// has reports whether the object named name is at tg with body.
// carKey is the key of the object named name in the CAR format.
func carKey(name string) string { return mirror.Key(id(name), mirror.FormatCAR) }

func has(tg *target.Memory, name, body string) bool {
	b, ok := tg.Get(carKey(name))
	return ok && string(b) == body
}

// TestRunnerFollows: a following runner puts objects as they are added,
// removes them on deletion under the delete policy, survives a target
// that fails for a while, and stops cleanly when its context ends.
func TestRunnerFollows(t *testing.T) {
	n := newFakeNode("node-a")
	n.add(id("a"), "alpha")
	tg := target.NewMemory()
	r := newRunner(t, n, tg, true, mirror.Policy{Mode: mirror.Delete})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	// The first pass ends once its state is saved: from then on the put
	// of a is on record, and no failure makes the runner put it again.
	// (An object at the target is not enough: a failure between its put
	// and the state write rightly has it put again.)
	waitUntil(t, "the first pass", func() bool { return r.Stats().Passes > 0 })
	if !has(tg, "a", "alpha") {
		t.Fatal("the first pass ended without the first object")
	}
	tg.SetFail(true)
	n.add(id("b"), "beta")
	waitUntil(t, "a failed pass", func() bool { return r.Stats().Errors > 0 })
	tg.SetFail(false)
	waitUntil(t, "the object added while the target failed", func() bool { return has(tg, "b", "beta") })
	n.del(id("a"))
	waitUntil(t, "the deleted object removed", func() bool { _, ok := tg.Get(carKey("a")); return !ok })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	if p := tg.Puts(carKey("a")); p != 1 {
		t.Errorf("a.car put %d times, want 1", p)
	}
}

// TestRunnerExpiredCursor: when the daemon no longer has the mirror's
// cursor (a trimmed or renumbered log), the runner reads from the oldest
// event and the listing covers the gap.
func TestRunnerExpiredCursor(t *testing.T) {
	n := newFakeNode("node-a")
	n.add(id("a"), "alpha")
	tg := target.NewMemory()
	if err := newRunner(t, n, tg, false, mirror.Policy{}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.add(id("b"), "beta")
	n.mu.Lock()
	n.events = nil // the log was reset: the saved cursor is ahead of it
	n.mu.Unlock()
	if err := newRunner(t, n, tg, false, mirror.Policy{}).Run(context.Background()); err != nil {
		t.Fatalf("run with a cursor the daemon lost: %v", err)
	}
	if !has(tg, "b", "beta") || tg.Puts(carKey("a")) != 1 {
		t.Fatalf("after the reset: b there %v, a put %d times", has(tg, "b", "beta"), tg.Puts(carKey("a")))
	}
}

// TestRunnerRefusesAnotherNode: a state written by a mirror of another
// node stops the runner, even when following, naming both nodes.
func TestRunnerRefusesAnotherNode(t *testing.T) {
	tg := target.NewMemory()
	if err := newRunner(t, newFakeNode("node-a"), tg, false, mirror.Policy{}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := newRunner(t, newFakeNode("node-b"), tg, true, mirror.Policy{}).Run(context.Background())
	if !errors.Is(err, mirror.ErrOtherNode) || !strings.Contains(err.Error(), "node-a") || !strings.Contains(err.Error(), "node-b") {
		t.Fatalf("Run = %v, want ErrOtherNode naming both", err)
	}
}

// TestRunnerKeepsGoingPastAFailedObject: an object the daemon cannot
// read (the first in the order puts are done) is reported and passed
// over: every other object is put, a due removal is done, the state
// records them, and the run fails naming the object; the next run puts
// it.
func TestRunnerKeepsGoingPastAFailedObject(t *testing.T) {
	n := newFakeNode("node-a")
	n.add(id("gone"), "gone")
	tg := target.NewMemory()
	pol := mirror.Policy{Mode: mirror.Delete}
	if err := newRunner(t, n, tg, false, pol).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.del(id("gone"))
	names := []string{"a", "b", "c"}
	for _, name := range names {
		n.add(id(name), name)
	}
	first := slices.MinFunc(names, func(x, y string) int { return strings.Compare(id(x), id(y)) })
	n.broken[id(first)] = errors.New("blocks unavailable")
	var reports []runner.Report
	r, err := runner.New(n, tg, runner.Config{
		Format: mirror.FormatCAR, Policy: pol, Logger: slog.New(slog.DiscardHandler),
		Report: func(rep runner.Report) { reports = append(reports, rep) },
	})
	if err != nil {
		t.Fatal(err)
	}
	err = r.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "read "+id(first)+" from the daemon") || !strings.Contains(err.Error(), "blocks unavailable") {
		t.Fatalf("Run = %v, want an error naming %s", err, id(first))
	}
	for _, name := range names {
		if got := has(tg, name, name); got != (name != first) {
			t.Errorf("object %s at the target: %v", name, got)
		}
	}
	if _, ok := tg.Get(carKey("gone")); ok {
		t.Error("the removal due was not done after a put failed")
	}
	b, _ := tg.Get(mirror.StateKey)
	st, err := mirror.Decode(b, "node-a", mirror.FormatCAR)
	if err != nil || len(st.Objects) != 2 {
		t.Fatalf("state after the pass: %v, %d objects, want the 2 put", err, len(st.Objects))
	}
	if s := r.Stats(); s.Failed != 1 || s.Put != 2 || s.Removed != 1 {
		t.Errorf("stats %+v, want 1 failed, 2 put, 1 removed", s)
	}
	if !slices.ContainsFunc(reports, func(rep runner.Report) bool {
		return rep.Action == "fail" && rep.CID == id(first) && rep.Error != ""
	}) {
		t.Errorf("no fail report for %s in %+v", id(first), reports)
	}
	delete(n.broken, id(first))
	if err := newRunner(t, n, tg, false, pol).Run(context.Background()); err != nil {
		t.Fatalf("the run after the object became readable: %v", err)
	}
	if !has(tg, first, first) {
		t.Fatal("the object that failed was not put by the next run")
	}
}

// TestRunnerHoldsRemovalsWhileCatchingUp: while the daemon is a node
// restored from a snapshot that has not caught up, its listing lacks an
// object that exists; under --on-delete delete the runner removes
// nothing, says so once over many passes, still puts what is new, and
// once the node has caught up (which no event tells) it removes what
// was really deleted and keeps what was only missing.
func TestRunnerHoldsRemovalsWhileCatchingUp(t *testing.T) {
	n := newFakeNode("node-a")
	for _, name := range []string{"kept", "deleted"} {
		n.add(id(name), name)
	}
	tg := target.NewMemory()
	pol := mirror.Policy{Mode: mirror.Delete}
	if err := newRunner(t, n, tg, false, pol).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.del(id("deleted"))
	n.restored(id("kept")) // the restored node has not learned of kept yet
	var (
		mu      sync.Mutex
		actions []string
	)
	r, err := runner.New(n, tg, runner.Config{
		Format: mirror.FormatCAR, Policy: pol, Follow: true, HoldRecheck: 10 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
		Report: func(rep runner.Report) {
			mu.Lock()
			defer mu.Unlock()
			actions = append(actions, rep.Action)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	n.add(id("new"), "new")
	waitUntil(t, "the new object put and more passes held", func() bool { return has(tg, "new", "new") && r.Stats().Passes >= 3 })
	if !has(tg, "kept", "kept") || !has(tg, "deleted", "deleted") {
		t.Fatal("a copy was removed while the node was catching up")
	}
	n.restored()
	waitUntil(t, "the deleted object's copy removed once caught up", func() bool { _, ok := tg.Get(carKey("deleted")); return !ok })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !has(tg, "kept", "kept") {
		t.Fatal("the copy of an object the restored node had not learned yet was removed")
	}
	mu.Lock()
	defer mu.Unlock()
	if c := count(actions, "hold"); c != 1 {
		t.Errorf("said %d times that removals are held, want once: %v", c, actions)
	}
	if c := count(actions, "resume"); c != 1 {
		t.Errorf("said %d times that removals resume, want once", c)
	}
}

func count(ss []string, s string) int {
	n := 0
	for _, v := range ss {
		if v == s {
			n++
		}
	}
	return n
}
