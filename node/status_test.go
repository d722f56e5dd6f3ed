package node

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/replication"
)

// fakeHolders are three members of three operators in two regions.
var fakeHolders = []replication.Member{
	{Peer: "12D3KooWHolderAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", Operator: "op-a", Region: "eu"},
	{Peer: "12D3KooWHolderBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", Operator: "op-b", Region: "eu"},
	{Peer: "12D3KooWHolderCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC", Operator: "op-c", Region: "us"},
}

// fillLedger records objects held by the fake holders straight into the
// node's ledger (signatures are not checked by Ledger.Apply). Object i is
// on 3 holders that vouch for each other (backed_up), except every tenth:
// on 2 (at_risk), and every hundredth: on 1 whose only proof failed (lost).
func fillLedger(t testing.TB, n *Node, objects int) {
	t.Helper()
	now := time.Now()
	sig := make([]byte, 64)
	n.repl.do(func(c *replication.Core) {
		c.SetMembers(fakeHolders, now)
		for i := range objects {
			holders, result := fakeHolders, replication.ResultPass
			switch {
			case i%100 == 0:
				holders, result = fakeHolders[:2], replication.ResultFail
			case i%10 == 0:
				holders = fakeHolders[:2]
			}
			obj := replication.ObjectID(fmt.Sprintf("bafybeig%051d", i))
			for j, h := range holders {
				var proofs []replication.Proof
				for k, p := range holders {
					if k != j && (result == replication.ResultPass || k == 0) {
						proofs = append(proofs, replication.Proof{Peer: p.Peer, At: now, Result: result})
					}
				}
				if result != replication.ResultPass && j == 0 {
					continue // the failed holder says nothing of itself
				}
				c.Ledger().Apply(replication.Attestation{Object: obj, Holder: h.Peer, Seq: uint64(i + 1),
					IssuedAt: now, Held: true, Target: 3, Leaves: 16, Proofs: proofs, Signature: sig})
			}
		}
	})
}

// TestStatusPage: paging through the overview visits every object exactly
// once, most urgent first, with the same tally and states as StatusAll.
func TestStatusPage(t *testing.T) {
	ctx := context.Background()
	n := startTestNode(t, "pages")
	fillLedger(t, n, 250)
	all, err := n.StatusAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]netstat.State{}
	for _, o := range all.Objects {
		want[o.CID] = o.State
	}
	if all.Tally.Count(netstat.StateLost) != 3 || all.Tally.Count(netstat.StateAtRisk) != 22 || all.Tally.Count(netstat.StateBackedUp) != 225 {
		t.Fatalf("tally %s, want 3 lost, 22 at risk, 225 backed up", all.Summary)
	}
	var after netstat.PageCursor
	var seen []ObjectStatus
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("more than 10 pages of 40 for 250 objects")
		}
		p, err := n.StatusPage(ctx, after, 40)
		if err != nil {
			t.Fatal(err)
		}
		if p.Tally != all.Tally || len(p.Objects) > 40 {
			t.Fatalf("page %d: tally %s and %d rows, want %s and at most 40", pages, p.Summary, len(p.Objects), all.Summary)
		}
		seen = append(seen, p.Objects...)
		if p.Next.String() == "" {
			break
		}
		after = p.Next
	}
	if len(seen) != len(want) {
		t.Fatalf("paged %d rows, want %d", len(seen), len(want))
	}
	for i, o := range seen {
		if want[o.CID] != o.State {
			t.Errorf("%s: paged state %s, StatusAll %s", o.CID, o.State, want[o.CID])
		}
		if i > 0 && seen[i-1].State.Severity() > o.State.Severity() {
			t.Errorf("row %d (%s) after a less urgent one (%s)", i, o.State, seen[i-1].State)
		}
	}
	if seen[0].State != netstat.StateLost || seen[len(seen)-1].State != netstat.StateBackedUp {
		t.Errorf("first row %s, last %s: want lost first, backed_up last", seen[0].State, seen[len(seen)-1].State)
	}
	if !seen[len(seen)-1].SafeOffline || seen[len(seen)-1].Verified == "" {
		t.Errorf("backed-up row %+v: want safe_offline and a verified age", seen[len(seen)-1])
	}
}

// TestStatusPageReusesSlowPasses: a slow pass is reused while recent;
// once old, the page is still served from it at once while a new pass
// runs in the background.
func TestStatusPageReusesSlowPasses(t *testing.T) {
	ctx := context.Background()
	n := startTestNode(t, "slow")
	fillLedger(t, n, 10)
	pretend := func(age time.Duration) {
		n.status.mu.Lock()
		n.status.snap = &statusSnapshot{at: time.Now().Add(-age), took: time.Second}
		n.status.mu.Unlock()
	}
	total := func() int {
		p, err := n.StatusPage(ctx, netstat.PageCursor{}, 5)
		if err != nil {
			t.Fatal(err)
		}
		return p.Tally.Total()
	}
	pretend(time.Second)
	if got := total(); got != 0 {
		t.Fatalf("a recent slow pass was redone: %d objects, want the pass's 0", got)
	}
	pretend(time.Minute)
	if got := total(); got != 0 {
		t.Fatalf("an old slow pass kept the request waiting for a new one: %d objects", got)
	}
	waitUntil(t, 10*time.Second, "the background pass to count all 10 objects", func() bool { return total() == 10 })
}

// TestStatusPageMillion measures the overview over a million objects (set
// CAIRN_STATUS_OBJECTS to change the count; it runs only with
// CAIRN_STATUS_MILLION=1 or that variable set, as it takes a minute and
// about 2 GiB of memory).
func TestStatusPageMillion(t *testing.T) {
	objects := 1_000_000
	if v := os.Getenv("CAIRN_STATUS_OBJECTS"); v != "" {
		objects, _ = strconv.Atoi(v)
	} else if os.Getenv("CAIRN_STATUS_MILLION") != "1" {
		t.Skip("set CAIRN_STATUS_MILLION=1 (or CAIRN_STATUS_OBJECTS=N) to measure the overview over a million objects")
	}
	ctx := context.Background()
	n := startTestNode(t, "million")
	start := time.Now()
	fillLedger(t, n, objects)
	t.Logf("filled a ledger of %d objects in %s", objects, time.Since(start).Round(time.Millisecond))
	var took []time.Duration
	var after netstat.PageCursor
	for range 5 {
		start := time.Now()
		p, err := n.StatusPage(ctx, after, 50)
		if err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Since(start))
		if p.Tally.Total() != objects || len(p.Objects) != 50 {
			t.Fatalf("tally %s, %d rows", p.Summary, len(p.Objects))
		}
		after = p.Next
	}
	slices.Sort(took)
	t.Logf("overview page of 50 over %d objects: median %s, max %s", objects, took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
	start = time.Now()
	all, err := n.StatusAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("StatusAll over %d objects: %s (%s)", objects, time.Since(start).Round(time.Millisecond), all.Summary)
}
