package replication

import (
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The core-level scale simulation of issue 17: nodes in five regions,
// one operator each, every node owning objects/nodes objects at R = 3,
// 5 % of messages lost, the default replication settings. Phases:
//
//   - burst: every object is added at once; until every object has been
//     counted backed up by its owner (Copies >= Target);
//   - idle: a fixed window, for the steady cost (after a settle window,
//     reported apart, when CAIRN_CORE_SIM_SETTLE is set: say
//     ReleaseGrace and a minute, so that the surplus of the burst is
//     released before the idle cost is measured);
//   - region dark: one region's nodes lose every connection, and every
//     node marks the peers it lost (PeerDown); until every object has
//     been counted backed up on live copies (objects of dark owners are
//     judged by a live holder);
//   - heal: PeerUp on both sides; until every owner has counted every
//     object backed up again;
//   - release, without loss only: until no object has more copies than
//     its target.
//
// With random loss an object can drop out of "backed up" for a while at
// any time (an attestation lost on its way), and copies beyond the target
// can appear. So a phase ends when every object has been backed up at some time
// since the phase began, and the surplus is reported, not awaited. Each
// phase fails the test if it does not end within a bound derived from
// the settings (grace periods, escalations, a challenge round, and the
// fetches each node has to make).
//
//	CAIRN_CORE_SIM=1000x1000000 go test ./replication -run 'TestScaleCore$' -v -timeout 0
//
// CAIRN_CORE_SIM_LOSS (a fraction), CAIRN_CORE_SIM_SETTLE and
// CAIRN_CORE_SIM_IDLE (durations) change the loss and the idle window; CAIRN_CORE_SIM_HEAPPROFILE names a
// file for a heap profile taken after the last phase.

// scaleConfig is one run's size and network.
type scaleConfig struct {
	nodes, objects int
	target         int
	regions        int
	loss           float64       // probability that a message is lost
	idle           time.Duration // the idle window measured
	settle         time.Duration // run before the idle window, reported apart
	objectSize     int64         // bytes one fetch moves
	bandwidth      int64         // bytes per second one node fetches at
	seed           uint64
}

// defaultScaleConfig is the size CI runs: a few seconds.
func defaultScaleConfig() scaleConfig {
	return scaleConfig{nodes: 15, objects: 100, target: 3, regions: 5, loss: 0.05, idle: 2 * time.Minute,
		objectSize: 1 << 20, bandwidth: 100e6 / 8, seed: 1}
}

func TestScaleCore(t *testing.T) {
	if testing.Short() && os.Getenv("CAIRN_CORE_SIM") == "" {
		t.Skip("the scale simulation takes seconds")
	}
	t.Parallel()
	runScale(t, scaleConfigFromEnv(t))
}

// TestScaleCoreLossless runs the scenario without loss, where the surplus
// left by the healed region must be released.
func TestScaleCoreLossless(t *testing.T) {
	if testing.Short() {
		t.Skip("the scale simulation takes seconds")
	}
	t.Parallel()
	cfg := defaultScaleConfig()
	cfg.nodes, cfg.objects, cfg.loss = 10, 50, 0
	runScale(t, cfg)
}

func runScale(t *testing.T, cfg scaleConfig) {
	r := newScaleRun(t, cfg)
	r.burst()
	r.idle()
	r.dark(1)
	r.heal()
	if cfg.loss == 0 {
		r.release()
	}
	r.memory()
	r.report()
}

// memory reports the heap over what the cores record, and writes a heap
// profile to CAIRN_CORE_SIM_HEAPPROFILE if set.
func (r *scaleRun) memory() {
	heap, pairs, objects := heapInUse(), 0, 0
	for _, n := range r.s.nodes {
		pairs += n.core.Ledger().Len()
		objects += n.core.Ledger().objects.len()
	}
	r.t.Logf("heap %d MiB: %d (object, holder) records in %d object entries over all ledgers, %d copies; %.0f bytes per record, %.0f per object entry",
		heap>>20, pairs, objects, r.s.copies, float64(heap)/float64(pairs), float64(heap)/float64(objects))
	if path := os.Getenv("CAIRN_CORE_SIM_HEAPPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.WriteHeapProfile(f)
			f.Close()
		}
		if err != nil {
			r.t.Errorf("heap profile: %v", err)
		}
	}
}

// scaleRun runs the scenario's phases and reports them.
type scaleRun struct {
	t      *testing.T
	s      *scaleSim
	failed []string
	// of the phase under way
	name  string
	wall  time.Time
	cpu   float64
	tally scaleTally
}

type scalePhase struct {
	name         string
	sim, wall    time.Duration
	cpu          float64 // seconds of this process's CPU: the phase's own when one simulation runs alone
	ended        bool
	tally        scaleTally
	liveCopies   int // held by linked nodes at the end
	backed, over int
	heap         uint64
}

func newScaleRun(t *testing.T, cfg scaleConfig) *scaleRun {
	r := &scaleRun{t: t}
	t.Logf("%d nodes x %d objects, R=%d, %d regions, loss %g %%, idle %s, objects of %d KiB fetched at %d Mbit/s per node, %d bytes per message on top of its encoding",
		cfg.nodes, cfg.objects, cfg.target, cfg.regions, 100*cfg.loss, cfg.idle, cfg.objectSize>>10, cfg.bandwidth*8/1e6, scaleOverhead)
	t.Logf("B/copy/h: control bytes sent (attestations, rounds and their answers, statements, anti-entropy, lost ones included) per node per hour, over the copies the node holds; fetches are repair traffic")
	wall := time.Now()
	r.s = newScaleSim(t, cfg)
	for i := range cfg.objects {
		r.s.add(i)
	}
	t.Logf("setup: %s wall, heap %d MiB", time.Since(wall).Round(time.Millisecond), heapInUse()>>20)
	return r
}

func (r *scaleRun) begin(name string) {
	r.name, r.wall, r.cpu, r.tally = name, time.Now(), cpuSeconds(), r.s.tally
	r.s.resetReached()
}

// settled is when a phase ends: every object backed up at some
// time since it began, and, without loss, all of them at once.
func (r *scaleRun) settled() bool {
	s := r.s
	return s.reached == s.cfg.objects && (s.cfg.loss > 0 || s.backed == s.cfg.objects)
}

func (r *scaleRun) end(sim time.Duration, ended bool) {
	s := r.s
	p := scalePhase{name: r.name, sim: sim, wall: time.Since(r.wall), cpu: cpuSeconds() - r.cpu, ended: ended,
		tally: s.tally.sub(r.tally), backed: s.backed, over: s.over, heap: heapInUse()}
	for _, n := range s.nodes {
		if !n.dark {
			p.liveCopies += n.held
		}
	}
	r.t.Logf("%s", p.line())
	if !ended {
		r.failed = append(r.failed, r.name)
	}
}

// cpuSeconds is the CPU time this process has used, user and system: on
// a shared machine a truer cost than wall time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// fixedBound is what any phase may take before its transfers: grace
// periods, two escalations, a challenge round with its timeout, and a
// proof going stale.
func (s *scaleSim) fixedBound() time.Duration {
	c := DefaultConfig()
	return c.ReconnectGrace + c.RepairGrace + 2*c.RepairEscalation + c.ChallengeInterval + c.ChallengeTimeout + c.ProofFreshness
}

// transferBound is how long fetches of perNode objects per node take,
// MaxConcurrentRepairs at a time, with three times slack for the uneven
// spread of copies and failed fetches.
func (s *scaleSim) transferBound(perNode float64) time.Duration {
	return time.Duration(3 * perNode / float64(DefaultConfig().MaxConcurrentRepairs) * float64(s.fetchTime()))
}

func (r *scaleRun) burst() {
	s := r.s
	r.begin("burst")
	limit := s.fixedBound() + s.transferBound(float64(s.cfg.objects*(s.cfg.target-1))/float64(s.cfg.nodes))
	took, ok := s.runUntil(limit, r.settled)
	r.end(took, ok)
}

func (r *scaleRun) idle() {
	if d := r.s.cfg.settle; d > 0 {
		r.begin("settle")
		r.s.run(d)
		r.end(d, true)
	}
	r.begin("idle")
	r.s.run(r.s.cfg.idle)
	r.end(r.s.cfg.idle, true)
}

// dark cuts region off: its nodes lose every connection, and every node
// marks the peers it lost (PeerDown). Objects whose owner went dark are
// judged by a live node instead.
func (r *scaleRun) dark(region int) {
	s := r.s
	lost := 0
	for _, n := range s.nodes {
		if n.region == region {
			n.dark = true
			lost += n.held
		}
	}
	s.cut()
	for i := range s.objs {
		if s.nodes[s.objs[i].observer].dark {
			s.objs[i].observer = s.liveObserver(i)
		}
	}
	s.judgeAll()
	r.begin("region dark")
	live := s.cfg.nodes - s.cfg.nodes/s.cfg.regions
	limit := s.fixedBound() + s.transferBound(float64(lost)/float64(live))
	took, ok := s.runUntil(limit, r.settled)
	r.end(took, ok)
}

// cut tells every node about each peer across the cut: PeerDown.
func (s *scaleSim) cut() {
	now := s.time()
	for _, a := range s.nodes {
		for _, b := range s.nodes {
			if a != b && (a.dark || b.dark) {
				a.core.PeerDown(b.id, now)
			}
		}
	}
}

// liveObserver picks a node to judge object i while its owner is dark:
// the first live source the owner knows (holders first).
func (s *scaleSim) liveObserver(i int) int32 {
	owner := s.nodes[s.objs[i].observer]
	for _, p := range owner.core.Sources(scaleObjectID(i), len(s.nodes)) {
		if n := s.byID[p]; !n.dark {
			return n.idx
		}
	}
	s.t.Fatalf("object %d: no live node knows it", i)
	return 0
}

// heal lets the dark region back onto the network and gives every
// object back to its owner to judge. Its nodes connect again over the
// next member check (reconnect), and each pair does then what the node
// does (connected): PeerUp, anti-entropy, redelivery and statements, at
// both ends.
func (r *scaleRun) heal() {
	s := r.s
	var back []*scaleNode
	for _, n := range s.nodes {
		if n.dark {
			back = append(back, n)
		}
	}
	s.reconnect(back)
	for i := range s.objs {
		s.objs[i].observer = int32(i % len(s.nodes))
	}
	s.judgeAll()
	s.markSince(healMarks, "after heal")
	r.begin("heal")
	took, ok := s.runUntil(s.fixedBound(), r.settled)
	r.end(took, ok)
	if rest := healMarks[len(healMarks)-1] - took; rest > 0 {
		r.begin("after heal")
		s.run(rest)
		r.end(rest, true)
	}
}

// healMarks are the times after heal at which markSince logs what was
// sent since: the burst a region's return causes, and how it spreads. The
// heal phase itself can end at once (every object is counted on live
// copies already), so the run goes on to the last mark.
var healMarks = []time.Duration{250 * time.Millisecond, time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute}

// markSince logs, at each of marks after now, the messages sent since
// now. The events it queues change neither the randomness nor the order
// of the others, so a run repeats exactly with or without them.
func (s *scaleSim) markSince(marks []time.Duration, label string) {
	start, from := s.tally, s.now
	for _, d := range marks {
		s.push(event{at: from + d, kind: evFunc, fn: func() {
			s.t.Logf("%s +%-6s %s", label, d, s.tally.sub(start).sent())
		}})
	}
}

// release runs until no object has more copies than its target: the
// healed region's copies are surplus.
func (r *scaleRun) release() {
	s := r.s
	r.begin("release")
	took, ok := s.runUntil(DefaultConfig().ReleaseGrace+s.fixedBound(), func() bool { return s.over == 0 })
	r.end(took, ok)
}

func (r *scaleRun) report() {
	s := r.s
	keys := make([]string, 0, len(s.rejects))
	for k := range s.rejects {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		r.t.Logf("refused %s: %d", k, s.rejects[k])
	}
	if len(r.failed) > 0 {
		r.t.Errorf("phases that did not end within their bound: %s", strings.Join(r.failed, ", "))
	}
}

// sent formats the messages of a tally by kind, with their bytes.
func (t scaleTally) sent() string {
	kb := func(k int) float64 { return float64(t.bytes[k]) / 1e3 }
	return fmt.Sprintf("att %d (%.0f KB; %d signed, %d resent), ch %d (%.0f KB), resp %d (%.0f KB), st %d (%.0f KB), sync %d (%.0f KB, %d att); lost %d, replays %d; fetched %d",
		t.msgs[msgAttest], kb(msgAttest), t.signed, t.resent, t.msgs[msgChallenge], kb(msgChallenge), t.msgs[msgResponse], kb(msgResponse),
		t.msgs[msgStatement], kb(msgStatement), t.msgs[msgSync], kb(msgSync), t.syncAtts, t.lost, t.replays, t.fetches)
}

// line formats a phase as one row of the report.
func (p scalePhase) line() string {
	perCopyHour := func(bytes int64) float64 {
		if p.sim <= 0 || p.liveCopies == 0 {
			return 0
		}
		return float64(bytes) / float64(p.liveCopies) / p.sim.Hours()
	}
	state := "ended"
	if !p.ended {
		state = "NOT ENDED"
	}
	t := p.tally
	return fmt.Sprintf("%-11s %-9s sim %10s wall %9s cpu %7.1fs | %7.0f B/copy/h (att %.0f, ch %.0f, resp %.0f, st %.0f, sync %.0f) | msgs %d (att %d, ch %d, resp %d, st %d, sync %d carrying %d att; lost %d) | fetched %d (%.0f MB), failed %d (%d by dark nodes, %d with no source) | ticks %d | copies %d backed %d over %d | heap %d MiB",
		p.name, state, p.sim.Round(time.Millisecond), p.wall.Round(time.Millisecond), p.cpu, perCopyHour(t.control()),
		perCopyHour(t.bytes[msgAttest]), perCopyHour(t.bytes[msgChallenge]), perCopyHour(t.bytes[msgResponse]),
		perCopyHour(t.bytes[msgStatement]), perCopyHour(t.bytes[msgSync]),
		t.messages(), t.msgs[msgAttest], t.msgs[msgChallenge], t.msgs[msgResponse], t.msgs[msgStatement], t.msgs[msgSync], t.syncAtts, t.lost,
		t.fetches, float64(t.fetchBytes)/1e6, t.fetchFails, t.darkFetch, t.noSource, t.ticks,
		p.liveCopies, p.backed, p.over, p.heap>>20)
}
