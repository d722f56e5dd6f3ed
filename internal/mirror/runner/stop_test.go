package runner_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/internal/mirror"
	"github.com/cairn-fed/cairn/internal/mirror/runner"
	"github.com/cairn-fed/cairn/internal/mirror/target"
)

// TestRunnerStoppedMidPassRecordsWhatItPut: a runner stopped right after
// an object was put, before its periodic write of the state, still
// records that object, so the next run does not put it again.
func TestRunnerStoppedMidPassRecordsWhatItPut(t *testing.T) {
	n := newFakeNode("node-a")
	for _, name := range []string{"a", "b", "c"} {
		n.add(id(name), name)
	}
	tg := target.NewMemory()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var put []string
	r, err := runner.New(n, tg, runner.Config{
		Format: mirror.FormatCAR, Policy: mirror.Policy{Mode: mirror.Keep}, SaveEvery: time.Hour,
		Logger: slog.New(slog.DiscardHandler),
		Report: func(rep runner.Report) {
			if rep.Action == "put" {
				put = append(put, rep.CID)
				cancel() // stopped (SIGTERM) as the first object lands
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(ctx); err != nil {
		t.Fatalf("Run = %v, want a clean stop", err)
	}
	if len(put) != 1 {
		t.Fatalf("put %v before stopping, want one object", put)
	}
	b, ok := tg.Get(mirror.StateKey)
	if !ok {
		t.Fatal("no state written when stopped")
	}
	st, err := mirror.Decode(b, "node-a", mirror.FormatCAR)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Objects[put[0]]; !ok || len(st.Objects) != 1 {
		t.Errorf("state lists %v, want the one object put, %s", st.Objects, put[0])
	}
	if err := newRunner(t, n, tg, false, mirror.Policy{Mode: mirror.Keep}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := tg.Puts(mirror.Key(put[0], mirror.FormatCAR)); got != 1 {
		t.Errorf("the object put before the stop was put %d times in all, want once", got)
	}
}
