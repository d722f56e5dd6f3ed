package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cairn-fed/cairn/internal/mirror"
	"github.com/cairn-fed/cairn/netstat"
)

// Runner mirrors one daemon to one target. Its state is owned by the
// goroutine that calls Run; Stats may be read from any goroutine.
type Runner struct {
	src Source
	dst Target
	cfg Config
	n   counters
	// holding is set while the node catches up after a restore; owned by
	// the goroutine in Run.
	holding bool
}

// New returns a runner; cfg is checked with Validate.
func New(src Source, dst Target, cfg Config) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 30 * time.Second
	}
	if cfg.SaveEvery == 0 {
		cfg.SaveEvery = time.Second
	}
	if cfg.HoldRecheck == 0 {
		cfg.HoldRecheck = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Runner{src: src, dst: dst, cfg: cfg}, nil
}

// Stats returns the counters so far.
func (r *Runner) Stats() Stats { return r.n.snapshot() }

// Run mirrors until done: one pass, or with Follow until ctx ends (then
// it returns nil). A failed pass ends Run without Follow; with Follow it
// is retried after a growing wait, except for a state that belongs to
// another node or format, which no retry mends.
func (r *Runner) Run(ctx context.Context) error {
	wait := min(time.Second, r.cfg.RetryMax)
	for {
		err := r.session(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil || !r.cfg.Follow, permanent(err):
			return err
		}
		r.n.errors.Add(1)
		r.cfg.Logger.Warn("mirror pass failed; trying again", "target", r.dst.String(), "in", wait, "err", err)
		r.report(Report{Action: "retry", Error: err.Error()})
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, r.cfg.RetryMax)
	}
}

// permanent reports whether no retry mends err: the target belongs to
// another mirror or to no mirror at all.
func permanent(err error) bool {
	for _, e := range []error{mirror.ErrOtherNode, mirror.ErrOtherFormat, mirror.ErrBadState, ErrNotEmpty} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// session loads the state, then runs passes: one, or with Follow one
// each time an event or a due removal asks for it. The first pass also
// lists the target, so keys a crash left unrecorded are adopted.
func (r *Runner) session(ctx context.Context) error {
	st, err := r.load(ctx)
	if err != nil {
		return err
	}
	if err := r.dst.Clean(ctx); err != nil {
		return fmt.Errorf("clean up unfinished puts at %s: %w", r.dst, err)
	}
	listTarget := true
	for {
		if err := r.pass(ctx, st, listTarget); err != nil {
			return err
		}
		listTarget = false
		if !r.cfg.Follow {
			return nil
		}
		if err := r.waitForChange(ctx, st); err != nil {
			return err
		}
	}
}

// load reads the state at the target, checking it belongs to this node,
// or begins a new one.
func (r *Runner) load(ctx context.Context) (*mirror.State, error) {
	node, err := r.src.NodeID(ctx)
	if err != nil {
		return nil, fmt.Errorf("ask the daemon for its peer ID: %w", err)
	}
	b, err := r.dst.ReadState(ctx)
	if errors.Is(err, ErrNoState) {
		return r.begin(ctx, node)
	}
	if err != nil {
		return nil, fmt.Errorf("read the mirror state at %s: %w", r.dst, err)
	}
	st, err := mirror.Decode(b, node, r.cfg.Format)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.dst, err)
	}
	return st, nil
}

// begin starts a mirror at a target without a state: an empty one, or
// with Adopt any. It writes the state before any put, so the files a run
// killed early leaves are known as the mirror's by the next run.
func (r *Runner) begin(ctx context.Context, node string) (*mirror.State, error) {
	keys, err := r.dst.Keys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", r.dst, err)
	}
	if len(keys) > 0 && !r.cfg.Adopt {
		slices.Sort(keys)
		return nil, fmt.Errorf("%w: %s holds %s and no %s; mirror to an empty directory or prefix, or, if it is a mirror whose %s was lost, run again with --adopt",
			ErrNotEmpty, r.dst, someOf(keys), mirror.StateKey, mirror.StateKey)
	}
	st := mirror.NewState(node, r.cfg.Format)
	return st, r.save(ctx, st)
}

// someOf names the first few keys, and how many more there are.
func someOf(keys []string) string {
	const show = 3
	if len(keys) <= show {
		return strings.Join(keys, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(keys[:show], ", "), len(keys)-show)
}

// pass brings the target up to date with the node as of now.
func (r *Runner) pass(ctx context.Context, st *mirror.State, listTarget bool) error {
	end, err := r.catchUp(ctx, st.Cursor)
	if err != nil {
		return err
	}
	// Asked before the listing: catching up only ever ends, so a listing
	// taken after a "no" is a whole one.
	hold, err := r.src.CatchingUp(ctx)
	if err != nil {
		return fmt.Errorf("ask the daemon whether it is catching up after a restore: %w", err)
	}
	r.hold(hold)
	live, err := r.src.Live(ctx) // listed after the cursor: nothing before end is missed
	if err != nil {
		return fmt.Errorf("list the owner's objects: %w", err)
	}
	in := mirror.Input{Live: live, Policy: r.cfg.Policy, Now: r.cfg.Now(), Hold: hold}
	if listTarget {
		if in.Present, err = r.dst.Keys(ctx); err != nil {
			return fmt.Errorf("list %s: %w", r.dst, err)
		}
		if in.Present == nil {
			in.Present = []string{}
		}
	}
	plan := mirror.Decide(st, in)
	failed, err := r.apply(ctx, st, plan)
	if err != nil {
		return err
	}
	st.Cursor = end
	if err := r.save(ctx, st); err != nil {
		return err
	}
	present, deleted := st.Counts()
	r.n.present.Store(int64(present))
	r.n.deleted.Store(int64(deleted))
	if len(failed) > 0 {
		return objectsFailed(failed)
	}
	r.n.passes.Add(1)
	r.n.lastPass.Store(r.cfg.Now().Unix())
	r.report(Report{Action: "pass"})
	return nil
}

// objectsFailed is the error of a pass that did all it could but some
// objects: it names them (the first few) and says what happens next.
func objectsFailed(errs []error) error {
	const show = 5
	msg := fmt.Sprintf("%d objects could not be mirrored (the rest were); the next pass tries them again (with --follow shortly, else run the mirror again once the cause is fixed)", len(errs))
	if len(errs) > show {
		msg += fmt.Sprintf("; the first %d of them", show)
	}
	return fmt.Errorf("%s: %w", msg, errors.Join(errs[:min(show, len(errs))]...))
}

// hold notes whether the node is catching up, saying so when that
// begins and ends (not on every pass).
func (r *Runner) hold(on bool) {
	switch {
	case on && !r.holding:
		r.cfg.Logger.Warn("the node was restored from a snapshot and is catching up with the federation; its listing may lack objects, so the mirror removes nothing until it has")
		r.report(Report{Action: "hold"})
	case !on && r.holding:
		r.cfg.Logger.Info("the node has caught up; the mirror removes copies again as --on-delete says")
		r.report(Report{Action: "resume"})
	}
	r.holding = on
}

// catchUp reads the stored events after cursor and returns the cursor
// after the last; an unusable cursor starts over from the oldest event.
func (r *Runner) catchUp(ctx context.Context, cursor string) (string, error) {
	end, err := r.src.Events(ctx, cursor, false, func(netstat.Event) error { return nil })
	if errors.Is(err, ErrCursor) && cursor != "" {
		r.cfg.Logger.Warn("the daemon cannot resume the event stream at the mirror's cursor; reading it from the start, and the full listing covers any gap", "err", err)
		end, err = r.src.Events(ctx, "", false, func(netstat.Event) error { return nil })
	}
	if err != nil {
		return "", fmt.Errorf("read the daemon's events: %w", err)
	}
	return end, nil
}

// apply puts, then removes, writing the state after puts at most every
// SaveEvery and after every removal. An object whose put or removal
// fails is reported and passed over, so one unreadable object does not
// hold up the others; apply returns those failures. A state that cannot
// be written ends it at once with err: the target itself is failing.
func (r *Runner) apply(ctx context.Context, st *mirror.State, plan mirror.Plan) (failed []error, err error) {
	saved, unsaved := r.cfg.Now(), false
	for _, o := range plan.Put {
		if err := ctx.Err(); err != nil {
			if unsaved { // stopped: record what was put
				err = errors.Join(err, r.save(ctx, st))
			}
			return failed, err
		}
		n, err := r.put(ctx, o)
		if err != nil {
			failed = append(failed, r.fail(o.CID, err))
			continue
		}
		st.Put(o, n, r.cfg.Now())
		unsaved = true
		if now := r.cfg.Now(); now.Sub(saved) >= r.cfg.SaveEvery {
			if err := r.save(ctx, st); err != nil {
				return failed, err
			}
			saved, unsaved = now, false
		}
	}
	for _, cid := range plan.Remove {
		key := mirror.Key(cid, r.cfg.Format) // never the state's: it may have been altered
		if err := r.dst.Remove(ctx, key); err != nil {
			failed = append(failed, r.fail(cid, fmt.Errorf("remove %s from %s: %w", key, r.dst, err)))
			continue
		}
		st.Removed(cid)
		if err := r.save(ctx, st); err != nil {
			return failed, err
		}
		r.n.removed.Add(1)
		r.report(Report{Action: "remove", CID: cid})
	}
	return failed, nil
}

// fail counts and reports an object whose put or removal failed.
func (r *Runner) fail(cid string, err error) error {
	r.n.failed.Add(1)
	r.cfg.Logger.Warn("mirror an object; going on with the others, and trying it again on the next pass", "cid", cid, "err", err)
	r.report(Report{Action: "fail", CID: cid, Error: err.Error()})
	return err
}

// put streams one object from the daemon into the target.
func (r *Runner) put(ctx context.Context, o mirror.Object) (int64, error) {
	key := mirror.Key(o.CID, r.cfg.Format)
	src, err := r.src.Open(ctx, o, r.cfg.Format)
	if err != nil {
		return 0, fmt.Errorf("read %s from the daemon: %w", o.CID, err)
	}
	defer src.Close()
	n, err := r.dst.Put(ctx, key, src)
	if err != nil {
		return 0, fmt.Errorf("put %s to %s: %w", key, r.dst, err)
	}
	r.n.put.Add(1)
	r.n.putBytes.Add(n)
	r.report(Report{Action: "put", CID: o.CID, Bytes: n})
	return n, nil
}

// stateWriteTimeout bounds one write of the state.
const stateWriteTimeout = 30 * time.Second

// save writes the state. A write is not cut short when the mirror is
// stopped (ctx done): what was put or removed since the last write would
// be done again by the next run, or, for a removal, be forgotten.
func (r *Runner) save(ctx context.Context, st *mirror.State) error {
	b, err := st.Encode()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stateWriteTimeout)
	defer cancel()
	if err := r.dst.WriteState(ctx, b); err != nil {
		return fmt.Errorf("write the mirror state to %s: %w", r.dst, err)
	}
	return nil
}

// errWake stops following the stream: a pass is due.
var errWake = errors.New("mirror: a pass is due")

// waitForChange follows the event stream from the state's cursor until an
// event may change the mirror, a kept copy falls due, or, while the node
// catches up, HoldRecheck has passed.
func (r *Runner) waitForChange(ctx context.Context, st *mirror.State) error {
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	due, ok := st.NextRemoval()
	if r.holding { // no removal is done meanwhile; ask again whether the node caught up
		due, ok = r.cfg.Now().Add(r.cfg.HoldRecheck), true
	}
	if ok {
		var stop context.CancelFunc
		fctx, stop = context.WithDeadline(fctx, due)
		defer stop()
	}
	_, err := r.src.Events(fctx, st.Cursor, true, func(ev netstat.Event) error {
		if mirror.Relevant(ev) {
			return errWake
		}
		return nil
	})
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, errWake), fctx.Err() != nil: // woken, or a removal is due
		return nil
	case err == nil:
		return errors.New("the daemon ended the event stream (it may be stopping); the mirror follows it again once it is back")
	}
	return fmt.Errorf("follow the daemon's events: %w", err)
}

func (r *Runner) report(rep Report) {
	if r.cfg.Report != nil {
		rep.Stats = r.n.snapshot()
		r.cfg.Report(rep)
	}
}
