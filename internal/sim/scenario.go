package sim

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"text/tabwriter"
	"time"
)

// Scenario is one run: a federation of Nodes members gets a burst of
// Objects objects of ObjectBytes each, sits idle for Steady, then loses
// its first region.
type Scenario struct {
	Nodes       int
	Objects     int
	ObjectBytes int
	Steady      time.Duration // idle window after the burst, for the gossip baseline
	Poll        time.Duration // how often convergence is checked; 0: 250 ms
	// Settle bounds each wait for convergence; a phase that does not
	// converge in time is recorded as such (Least) and the run goes on.
	// 0: until ctx ends, and a phase that does not converge fails the run.
	Settle time.Duration
	// Progress, if set, hears each phase's figures as soon as they are
	// measured, so a run too large to finish still reports its burst,
	// and every ProgressEvery (0: 30 s) how far the adds and the settling
	// have got, so a run that stalls shows where.
	Progress      func(msg string)
	ProgressEvery time.Duration
}

// Result is what one scenario measured.
type Result struct {
	Scenario
	Setup time.Duration // start and federate every node
	Add   time.Duration // the adds themselves, acknowledged by their owners
	// Burst is from the first add until every member counts every object
	// backed up; Dark from cutting a region off until every remaining
	// member does again (the cut region's copies replaced elsewhere).
	Burst, Dark time.Duration
	// BurstUnsettled and DarkUnsettled are the objects some remaining
	// member recorded without counting them backed up at the end of each
	// phase (see Cluster.Unsettled): 0 when it converged.
	BurstUnsettled, DarkUnsettled int
	// Gossip and other traffic per node per minute, during the burst and
	// while idle.
	BurstGossip, BurstOther   float64
	SteadyGossip, SteadyOther float64
	Memory                    Memory
	Connections               int // open after the burst, counted at both ends
	// Lagging describes a few objects not backed up at the end, when the
	// run did not converge (see Cluster.Lagging).
	Lagging []string
}

// Run plays s on a fresh cluster built from cfg (whose Nodes it sets).
func Run(ctx context.Context, cfg Config, s Scenario) (Result, error) {
	if s.Poll == 0 {
		s.Poll = 250 * time.Millisecond
	}
	res := Result{Scenario: s}
	cfg.Nodes = s.Nodes
	start := time.Now()
	c, err := Start(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer c.Close()
	res.Setup = time.Since(start)
	if err := res.burst(ctx, c); err != nil {
		return res, err
	}
	res.Memory, res.Connections = c.MeasureMemory(), c.Connections()
	s.progress("set up in %s; burst: added in %s, settled after %s with %d unsettled, gossip %.0f KiB/node/min; %.1f MiB heap and %d goroutines per node",
		res.Setup.Round(time.Second), res.Add.Round(time.Second), res.Burst.Round(time.Second), res.BurstUnsettled, res.BurstGossip/1024,
		float64(res.Memory.HeapPerNode)/(1<<20), res.Memory.GoroutinesPerNode)
	if err := res.steady(ctx, c); err != nil {
		return res, err
	}
	s.progress("idle: gossip %.0f KiB/node/min, other %.0f KiB/node/min; cutting %s off", res.SteadyGossip/1024, res.SteadyOther/1024, Regions[0])
	darkStart := time.Now()
	if err := c.Darken(Regions[0]); err != nil {
		return res, err
	}
	cut := time.Now()
	s.progress("%s cut off in %s", Regions[0], cut.Sub(darkStart).Round(time.Second))
	// The members notice the cut as their connections close; until one
	// does, everything still looks settled.
	if err := c.waitNoticed(ctx, s); err != nil {
		return res, fmt.Errorf("after %s went dark: %w", Regions[0], err)
	}
	_, res.DarkUnsettled, err = settle(ctx, c, s)
	res.Dark = time.Since(cut)
	if err != nil {
		return res, fmt.Errorf("after %s went dark: %w", Regions[0], err)
	}
	if !res.Converged() {
		res.Lagging = c.Lagging(ctx, 5)
	}
	return res, nil
}

// watch reports what c is doing every s.ProgressEvery, with the process's
// heap and goroutines, until the returned stop is called.
func (s Scenario) watch(c *Cluster, what func() string) (stop func()) {
	if s.Progress == nil {
		return func() {}
	}
	every := s.ProgressEvery
	if every == 0 {
		every = 30 * time.Second
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				s.progress("%s; heap %.0f MiB in use, %d goroutines", what(), float64(ms.HeapInuse)/(1<<20), runtime.NumGoroutine())
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func (s Scenario) progress(format string, args ...any) {
	if s.Progress != nil {
		s.Progress(fmt.Sprintf("%d nodes, %d objects: ", s.Nodes, s.Objects) + fmt.Sprintf(format, args...))
	}
}

// Converged reports whether every remaining member counted every object
// backed up after the burst and after the region went dark.
func (r Result) Converged() bool {
	return r.BurstUnsettled == 0 && r.DarkUnsettled == 0
}

// waitNoticed waits until some member records an object it no longer
// counts backed up, for at most s.Settle if set.
func (c *Cluster) waitNoticed(ctx context.Context, s Scenario) error {
	if s.Settle > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Settle)
		defer cancel()
	}
	err := poll(ctx, s.Poll, "a member to notice the cut", func() bool {
		n, _, err := c.Unsettled(ctx)
		return err == nil && n > 0
	})
	if err != nil && s.Settle > 0 && ctx.Err() != nil {
		return nil // nothing held in the dark region, or never noticed: settle measures it
	}
	return err
}

// settle waits for every remaining member to count every object it
// records backed up, for at most s.Settle if set; it returns how long it
// waited and the unsettled objects seen last.
func settle(ctx context.Context, c *Cluster, s Scenario) (time.Duration, int, error) {
	wctx := ctx
	if s.Settle > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, s.Settle)
		defer cancel()
	}
	start := time.Now()
	stop := s.watch(c, func() string {
		return fmt.Sprintf("settling: %d objects unsettled after %s", c.unsettled.Load(), time.Since(start).Round(time.Second))
	})
	d, unsettled, err := c.WaitSettled(wctx, s.Poll)
	stop()
	if err != nil && s.Settle > 0 && ctx.Err() == nil {
		return d, unsettled, nil // did not converge in time: recorded, not fatal
	}
	return d, unsettled, err
}

func (r *Result) burst(ctx context.Context, c *Cluster) error {
	before, start := c.Traffic.Snapshot(), time.Now()
	stop := r.watch(c, func() string {
		return fmt.Sprintf("adding: %d of %d objects added after %s", c.added.Load(), r.Objects, time.Since(start).Round(time.Second))
	})
	_, err := c.AddObjects(ctx, r.Objects, r.ObjectBytes)
	stop()
	if err != nil {
		return err
	}
	r.Add = time.Since(start)
	wait, unsettled, err := settle(ctx, c, r.Scenario)
	r.BurstUnsettled = unsettled
	if err != nil {
		return fmt.Errorf("after the burst: %w", err)
	}
	if unsettled > 0 {
		for _, l := range c.Lagging(ctx, 5) {
			r.progress("not backed up after the burst: %s", l)
		}
	}
	r.Burst = r.Add + wait
	r.BurstGossip, r.BurstOther = perNodeMinute(c.Traffic.Snapshot().Sub(before), r.Nodes, r.Burst)
	return nil
}

func (r *Result) steady(ctx context.Context, c *Cluster) error {
	if r.Steady <= 0 {
		return nil
	}
	before := c.Traffic.Snapshot()
	select {
	case <-ctx.Done():
		return fmt.Errorf("sim: idle window: %w", ctx.Err())
	case <-time.After(r.Steady):
	}
	r.SteadyGossip, r.SteadyOther = perNodeMinute(c.Traffic.Snapshot().Sub(before), r.Nodes, r.Steady)
	return nil
}

func perNodeMinute(t TrafficSnapshot, nodes int, d time.Duration) (gossip, other float64) {
	scale := float64(nodes) * d.Minutes()
	return float64(t.Gossip) / scale, float64(t.Other) / scale
}

// WriteTable prints results as an aligned table.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "nodes\tobjects\tsetup s\tadd s\tburst→settled s\tunsettled\tregion dark→settled s\tunsettled\tgossip KiB/node/min burst\tidle\tother KiB/node/min burst\tidle\theap MiB/node\tgoroutines/node\tconns\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%d\t%d\t%.1f\t%.1f\t%.1f\t%d\t%.1f\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%d\t%d\t\n",
			r.Nodes, r.Objects, r.Setup.Seconds(), r.Add.Seconds(), r.Burst.Seconds(), r.BurstUnsettled, r.Dark.Seconds(), r.DarkUnsettled,
			r.BurstGossip/1024, r.SteadyGossip/1024, r.BurstOther/1024, r.SteadyOther/1024,
			float64(r.Memory.HeapPerNode)/(1<<20), r.Memory.GoroutinesPerNode, r.Connections)
	}
	return tw.Flush()
}
