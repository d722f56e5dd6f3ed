package node

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/repo"
)

// TestDrillReadsFromTheOtherMembersOnly: a drill reads an object of the
// owner's back from the member holding a copy and names its operator;
// once that member has lost the object's blocks, the drill fails, though
// every block is still on the owner's own node: a drill never reads its
// own blocks, as a restore on a new machine could not.
func TestDrillReadsFromTheOtherMembersOnly(t *testing.T) {
	ctx := context.Background()
	a, b := federatedPairWith(t, nil, func(r *repo.Repo) {
		r.Config.Fetch.StallTimeout.Duration = time.Second // a drill with no source ends soon
	})
	data := make([]byte, 3<<20)
	rand.NewChaCha8([32]byte{'d', 'r', 'i', 'l', 'l'}).Read(data)
	added, err := a.Add(ctx, object.NewReaderSource("drill.bin", bytes.NewReader(data)), AddOptions{Name: "drill.bin", Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "b to hold a verified copy", func() bool {
		rec, err := b.disk.index.get(ctx, added.CID)
		v, serr := a.Status(ctx, added.CID)
		return err == nil && rec.Role == RoleHolder && serr == nil && v.State == netstat.StateBackedUp
	})

	d, err := a.Verify(ctx, DrillRequest{Sample: 10})
	if err != nil {
		t.Fatal(err)
	}
	if d.Passed != 1 || d.Failed != 0 || len(d.Objects) != 1 {
		t.Fatalf("drill of one object b holds: %+v", d)
	}
	if o := d.Objects[0]; o.CID != added.CID || o.Name != "drill.bin" || o.Bytes != int64(len(data)) || !slices.Equal(o.From, []string{"op-b"}) {
		t.Errorf("drill outcome %+v: want %s, drill.bin, %d bytes, from op-b", o, added.CID, len(data))
	}
	if last, ok, err := a.LastDrill(ctx); err != nil || !ok || last.Passed != 1 {
		t.Errorf("latest drill kept: %+v, %v, %v", last, ok, err)
	}
	if h, err := a.Health(ctx); err != nil || h.LastDrill == nil || h.LastDrill.Objects != 1 || len(h.LastDrill.Failures) != 0 {
		t.Errorf("health after a drill: %+v, %v", h.LastDrill, err)
	}

	all, err := object.Links(ctx, cid.MustParse(added.CID), a.disk.blocks)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all[1:] { // b keeps the root: it still answers for the object
		if err := b.disk.blocks.DeleteBlock(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	d, err = a.Verify(ctx, DrillRequest{Capabilities: []string{added.Capability}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Failed != 1 || d.Objects[0].Error == "" {
		t.Fatalf("drill after the only other holder lost the blocks: %+v; want a failure, not a read of a's own blocks", d)
	}
	v, err := a.Status(ctx, added.CID)
	if err != nil || v.State != netstat.StateAtRisk || v.DrillFailure == "" || !strings.Contains(v.Text, "restore drill") {
		t.Errorf("status after a failed drill: %s %q (%v); want at_risk saying the drill failed", v.State, v.Text, err)
	}
	page, err := a.StatusPage(ctx, netstat.PageCursor{}, 10)
	if err != nil || page.Tally.Count(netstat.StateAtRisk) != 1 {
		t.Errorf("status page after a failed drill: %+v, %v; want the object at_risk", page.Tally, err)
	}

	if _, err := b.Verify(ctx, DrillRequest{Sample: 1}); !errors.Is(err, ErrNothingToDrill) {
		t.Errorf("drill on a node whose owner added nothing: %v, want ErrNothingToDrill", err)
	}
}

// TestScheduledDrill: with drill.interval set, the node runs drills on
// its own and keeps the latest.
func TestScheduledDrill(t *testing.T) {
	ctx := context.Background()
	a, b := federatedPairWith(t, nil, func(r *repo.Repo) {
		r.Config.Drill.Interval.Duration = time.Second
		r.Config.Drill.Sample = 5
	})
	added, err := a.Add(ctx, object.NewReaderSource("kept.txt", bytes.NewReader(bytes.Repeat([]byte("kept "), 100000))), AddOptions{Name: "kept.txt", Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "b to hold a copy", func() bool {
		_, err := b.disk.index.get(ctx, added.CID)
		return err == nil
	})
	waitUntil(t, 30*time.Second, "a scheduled drill that read the object back", func() bool {
		d, ok, err := a.LastDrill(ctx)
		return err == nil && ok && d.Passed == 1 && d.Objects[0].CID == added.CID
	})
}

// TestDrillWithNobodyConnectedIsNoDrill: with no member connected a drill
// would only say that nobody answered; it is refused, and no object is
// marked at risk for it.
func TestDrillWithNobodyConnectedIsNoDrill(t *testing.T) {
	ctx := context.Background()
	a := startTestNode(t, "alone")
	added, err := a.Add(ctx, object.NewReaderSource("alone.txt", bytes.NewReader([]byte("alone"))), AddOptions{Name: "alone.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx, DrillRequest{Sample: 10}); !errors.Is(err, ErrNoPeers) {
		t.Fatalf("drill with nobody connected: %v, want ErrNoPeers", err)
	}
	if a.drillFailure(ctx, added.CID) != "" {
		t.Error("a refused drill marked the object as failing")
	}
}

// TestDrillSampleSkipsObjectsNotBackedUp: a sampled drill reads backed-up
// objects; one that cannot reach its target yet would fail for being new,
// and stay at_risk for it.
func TestDrillSampleSkipsObjectsNotBackedUp(t *testing.T) {
	ctx := context.Background()
	a, _ := federatedPair(t, nil)
	kept, err := a.Add(ctx, object.NewReaderSource("kept.txt", bytes.NewReader(bytes.Repeat([]byte("kept "), 1000))), AddOptions{Name: "kept.txt", Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Add(ctx, object.NewReaderSource("wants-three.txt", bytes.NewReader([]byte("three copies, two members"))), AddOptions{Name: "wants-three.txt", Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "kept.txt backed up", func() bool {
		v, err := a.Status(ctx, kept.CID)
		return err == nil && v.State == netstat.StateBackedUp
	})
	d, err := a.Verify(ctx, DrillRequest{Sample: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Objects) != 1 || d.Objects[0].CID != kept.CID || d.Failed != 0 {
		t.Errorf("sampled drill: %+v; want kept.txt alone, read back", d.Objects)
	}
}

// TestDrillsCleanFollowsTheStore: a status look skips reading the drill
// failures only while none is recorded, and a node opened over a store
// that records one reads them again.
func TestDrillsCleanFollowsTheStore(t *testing.T) {
	ctx := context.Background()
	a := startTestNode(t, "drills")
	const id = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
	if !a.drillsClean.Load() {
		t.Fatal("a new node reads drill failures at every look")
	}
	note := func(failure string) {
		t.Helper()
		if err := a.noteDrill(ctx, Drill{At: time.Now(), Objects: []DrillObject{{CID: id, Error: failure}}}); err != nil {
			t.Fatal(err)
		}
	}
	note("no member returned the blocks")
	if got := a.drillFailure(ctx, id); got != "no member returned the blocks" {
		t.Fatalf("after a failed drill, drillFailure = %q", got)
	}
	a.drillsClean.Store(false) // as a node opened over this store is
	if err := a.loadDrillsClean(ctx); err != nil || a.drillsClean.Load() {
		t.Fatalf("opened over a recorded failure: clean %v, %v; want the failures read", a.drillsClean.Load(), err)
	}
	note("")
	if err := a.loadDrillsClean(ctx); err != nil || !a.drillsClean.Load() {
		t.Fatalf("opened after the failure was read back: clean %v, %v", a.drillsClean.Load(), err)
	}
}
