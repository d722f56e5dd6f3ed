package sim

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // CAIRN_SIM_PPROF
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSmallFederationConverges runs the whole scenario at CI size: 8
// members in five regions, a burst of 40 small objects, then one region
// cut off. Every member must count every object it records backed up
// after the burst, and again after the cut, once the dark region's copies
// are replaced elsewhere. At this size challenges every 5 s cost little, and a
// challenge lost while CI loads both cores is retried within the settle
// time.
func TestSmallFederationConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("an 8-node simulation; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	repl := FastReplication()
	repl.ChallengeInterval.Duration, repl.ChallengeTimeout.Duration, repl.ProofFreshness.Duration = 5*time.Second, 5*time.Second, 15*time.Second
	cfg := Config{Dir: t.TempDir(), Replication: repl}
	res, err := Run(ctx, cfg, Scenario{Nodes: 8, Objects: 40, ObjectBytes: 256, Settle: 40 * time.Second})
	var table strings.Builder
	WriteTable(&table, []Result{res})
	t.Logf("\n%s", table.String())
	if err != nil {
		t.Fatal(err)
	}
	if res.BurstUnsettled != 0 {
		t.Errorf("after the burst, %d of %d objects were not counted backed up by every member recording them", res.BurstUnsettled, res.Objects)
	}
	for _, l := range res.Lagging {
		t.Logf("not backed up: %s", l)
	}
	if res.DarkUnsettled != 0 {
		t.Errorf("%s dark for %s: %d of %d objects not counted backed up by every remaining member recording them", Regions[0], res.Dark.Round(time.Second), res.DarkUnsettled, res.Objects)
	}
}

// TestScale runs the large simulation when CAIRN_SIM_SIZES lists its
// sizes as NODESxOBJECTS, comma-separated, for example
//
//	CAIRN_SIM_SIZES=50x2000,100x2000,200x2000 go test ./internal/sim -run TestScale -v -timeout 60m
//
// or when CAIRN_SIM_NODES and CAIRN_SIM_OBJECTS give the largest size,
// run with a quarter and a half of the nodes and the same objects.
// CAIRN_SIM_STEADY sets the idle window (default 30s), CAIRN_SIM_SETTLE
// how long each phase may take to converge (default 3m),
// CAIRN_SIM_LOW_WATER how many members each node dials (default: all),
// and CAIRN_SIM_CHALLENGE_INTERVAL the challenge interval (default 10s;
// the timeout is half of it, proofs stay fresh three intervals).
// CAIRN_SIM_LOG, a file name, writes every node's log there at debug
// level. CAIRN_SIM_PPROF, an address such as localhost:6060, serves
// net/http/pprof there: a run that stalls can be profiled while it runs,
// where -test.cpuprofile would be written only at its end.
func TestScale(t *testing.T) {
	sizes, err := scaleSizes()
	if err != nil {
		t.Fatal(err)
	}
	if len(sizes) == 0 {
		t.Skip("set CAIRN_SIM_SIZES (or CAIRN_SIM_NODES and CAIRN_SIM_OBJECTS) to run the scale simulation")
	}
	if addr := os.Getenv("CAIRN_SIM_PPROF"); addr != "" {
		srv := &http.Server{Addr: addr}
		var wg sync.WaitGroup
		wg.Go(func() { srv.ListenAndServe() })
		defer wg.Wait()
		defer srv.Close()
	}
	steady := 30 * time.Second
	if v := os.Getenv("CAIRN_SIM_STEADY"); v != "" {
		if steady, err = time.ParseDuration(v); err != nil {
			t.Fatalf("CAIRN_SIM_STEADY: %v", err)
		}
	}
	settleFor := 3 * time.Minute
	if v := os.Getenv("CAIRN_SIM_SETTLE"); v != "" {
		if settleFor, err = time.ParseDuration(v); err != nil {
			t.Fatalf("CAIRN_SIM_SETTLE: %v", err)
		}
	}
	repl := FastReplication()
	if v := os.Getenv("CAIRN_SIM_CHALLENGE_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("CAIRN_SIM_CHALLENGE_INTERVAL: %v", err)
		}
		repl.ChallengeInterval.Duration, repl.ChallengeTimeout.Duration, repl.ProofFreshness.Duration = d, d/2, 3*d
	}
	lowWater := 0
	if v := os.Getenv("CAIRN_SIM_LOW_WATER"); v != "" {
		if lowWater, err = strconv.Atoi(v); err != nil {
			t.Fatalf("CAIRN_SIM_LOW_WATER: %v", err)
		}
	}
	var logger *slog.Logger
	if path := os.Getenv("CAIRN_SIM_LOG"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatalf("CAIRN_SIM_LOG: %v", err)
		}
		defer f.Close()
		logger = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var results []Result
	for _, s := range sizes {
		s.ObjectBytes, s.Steady, s.Poll, s.Settle = 256, steady, time.Second, settleFor
		s.Progress = func(msg string) { t.Log(msg) }
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
		res, err := Run(ctx, Config{Dir: t.TempDir(), Replication: repl, LowWater: lowWater, Logger: logger}, s)
		cancel()
		if err != nil {
			t.Errorf("%d nodes, %d objects: %v", s.Nodes, s.Objects, err)
			continue
		}
		results = append(results, res)
		var row strings.Builder
		WriteTable(&row, []Result{res})
		t.Logf("\n%s", row.String())
		for _, l := range res.Lagging {
			t.Logf("not backed up: %s", l)
		}
	}
	var table strings.Builder
	WriteTable(&table, results)
	t.Logf("all sizes:\n%s", table.String())
}

func scaleSizes() ([]Scenario, error) {
	if v := os.Getenv("CAIRN_SIM_SIZES"); v != "" {
		var out []Scenario
		for _, f := range strings.Split(v, ",") {
			var s Scenario
			if _, err := fmt.Sscanf(strings.TrimSpace(f), "%dx%d", &s.Nodes, &s.Objects); err != nil {
				return nil, fmt.Errorf("CAIRN_SIM_SIZES: %q is not NODESxOBJECTS: %w", f, err)
			}
			out = append(out, s)
		}
		return out, nil
	}
	nv := os.Getenv("CAIRN_SIM_NODES")
	if nv == "" {
		return nil, nil
	}
	nodes, err := strconv.Atoi(nv)
	if err != nil {
		return nil, fmt.Errorf("CAIRN_SIM_NODES: %w", err)
	}
	objects := 1000
	if ov := os.Getenv("CAIRN_SIM_OBJECTS"); ov != "" {
		if objects, err = strconv.Atoi(ov); err != nil {
			return nil, fmt.Errorf("CAIRN_SIM_OBJECTS: %w", err)
		}
	}
	return []Scenario{{Nodes: nodes / 4, Objects: objects}, {Nodes: nodes / 2, Objects: objects}, {Nodes: nodes, Objects: objects}}, nil
}
