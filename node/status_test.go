package node

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/status"
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
	n.repl.Do(func(c *replication.Core) {
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
	// pretend keeps, in place of any pass, a pass of nothing that took a
	// second and read the ledger age ago.
	pretend := func(age time.Duration) {
		n.status.Reset()
		n.status.Keep(status.NewSnapshot(nil, time.Now().Add(-age), time.Second))
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
	for range 5 {
		start := time.Now()
		if _, err := n.statusPass(ctx); err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	t.Logf("full pass over %d objects (what a fresh count costs): median %s, min %s, max %s of 5", objects,
		took[2].Round(time.Millisecond), took[0].Round(time.Millisecond), took[4].Round(time.Millisecond))
	took = took[:0]
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
	took = took[:0]
	var all StatusOverview
	for range 5 {
		start := time.Now()
		var err error
		if all, err = n.StatusAll(ctx); err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	t.Logf("StatusAll over %d objects: median %s, min %s, max %s of 5 (%s)", objects, took[2].Round(time.Millisecond),
		took[0].Round(time.Millisecond), took[4].Round(time.Millisecond), all.Summary)
}

// TestStatusSummariesAgree: on a randomised ledger, the summary the node
// derives from replication.Core.Overviews is the one it derives from the
// full Core.Status through netstat, as it did before the fast pass.
func TestStatusSummariesAgree(t *testing.T) {
	n := startTestNode(t, "agree")
	now := time.Now()
	self := replication.PeerID(n.ID().PeerID)
	peers := []replication.PeerID{self, "12D3KooWNotAMemberDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD"}
	for _, h := range fakeHolders {
		peers = append(peers, h.Peer)
	}
	r := rand.New(rand.NewPCG(6, 6))
	pick := func() replication.PeerID { return peers[r.IntN(len(peers))] }
	ago := func() time.Time { return now.Add(-time.Duration(r.IntN(600)) * time.Second) }
	var ids []replication.ObjectID
	n.repl.Do(func(c *replication.Core) {
		c.SetMembers(append(slices.Clone(fakeHolders), replication.Member{Peer: self, Operator: "op-self", Region: "eu"}), now)
		for i := range 2000 {
			obj := replication.ObjectID(fmt.Sprintf("bafyagree%06d", i))
			ids = append(ids, obj)
			// The owner's policy sets the target (written straight into the
			// ledger, as the attestations are, unverified).
			c.Ledger().SetPolicy(replication.Policy{Object: obj, Version: 1, Target: 1 + r.IntN(4)}, nil)
			for j := range r.IntN(5) {
				var proofs []replication.Proof
				for range r.IntN(4) {
					proofs = append(proofs, replication.Proof{Peer: pick(), At: ago(), Result: replication.Result(r.IntN(4))})
				}
				c.Ledger().Apply(replication.Attestation{Object: obj, Holder: pick(), Seq: uint64(i + 1), IssuedAt: now,
					Held: r.IntN(6) > 0, Pinned: j == 0 && r.IntN(2) == 0, Target: 1, Leaves: 4,
					Proofs: proofs, Signature: make([]byte, 64)})
			}
			if r.IntN(4) == 0 {
				c.Status(obj, now.Add(-time.Hour)) // remembered as fully replicated then, if it was
			}
		}
	})
	states := map[netstat.State]int{}
	n.repl.Read(func(c *replication.Core) {
		fast := c.Overviews(nil, ids, now)
		for i, obj := range ids {
			got, want := status.SummaryOf(fast[i]), referenceSummary(c.Status(obj, now), now)
			if got != want {
				t.Errorf("%s: from Overviews %+v, from Status %+v", obj, got, want)
			}
			states[want.Row.State]++
			states[want.Young]++
		}
	})
	for _, s := range []netstat.State{netstat.StateBackedUp, netstat.StateAtRisk, netstat.StateLost, netstat.StateLocalOnly, netstat.StateReplicating} {
		if states[s] == 0 {
			t.Errorf("no object of the randomised ledger is %s: the test misses a case (%v)", s, states)
		}
	}
}

// referenceSummary derives a summary as the node did before Overviews:
// from the full status, through netstat.Viewer.Facts.
func referenceSummary(st replication.ObjectStatus, now time.Time) status.Summary {
	f := viewer.Facts(netstat.ObjectInput{Status: st}, now)
	s := status.Summary{Row: netstat.Row{ID: string(st.Object), State: f.State(), Copies: st.Copies, Target: st.Target},
		Regions: int32(st.Regions), Safe: netstat.SafeOffline(st)}
	for _, h := range st.Holders {
		s.OwnedHere = s.OwnedHere || (h.Local && h.Pinned)
		if h.State == replication.HolderVerified && !h.VerifiedAt.IsZero() {
			if at := h.VerifiedAt.UnixMilli(); s.VerifiedAt == 0 || at < s.VerifiedAt {
				s.VerifiedAt = at
			}
		}
	}
	f.PastGrace = false
	s.Young = f.State()
	return s
}

// TestRowLabels: the rendered ages StatusAll reuses are the ones netstat
// renders for each row.
func TestRowLabels(t *testing.T) {
	now := time.Now()
	rows := status.NewRows(viewer.Config(), now, 1)
	for _, d := range []time.Duration{-90 * time.Second, -time.Millisecond, 0, 999 * time.Millisecond, 4999 * time.Millisecond,
		5 * time.Second, 59999 * time.Millisecond, time.Minute, 3601 * time.Second, 47 * time.Hour, 49 * time.Hour, 400 * time.Hour} {
		for _, dd := range []time.Duration{d, d + 300*time.Millisecond} {
			at := now.Add(-dd).Truncate(time.Millisecond)
			stamp := viewer.Config().Stamp(at, now)
			want := stamp.Label("verified")
			if got := rows.Object(status.Summary{VerifiedAt: at.UnixMilli()}, "", 0); got.Verified != want || got.Stale != (stamp.Freshness == netstat.Stale) {
				t.Errorf("verified %s ago: %q stale %v, want %q", dd, got.Verified, got.Stale, want)
			}
		}
	}
}

// BenchmarkStatusMillion measures, over a ledger of a million objects (3
// holders each), a full status pass (what a fresh count costs) and what
// `cairn status` asks the daemon: the tally and the 50 most urgent rows
// over a kept pass. Each iteration takes about a second; the ledger takes
// a few seconds and about 2 GiB to fill.
func BenchmarkStatusMillion(b *testing.B) {
	ctx := context.Background()
	n := startTestNode(b, "million")
	fillLedger(b, n, 1_000_000)
	b.ResetTimer()
	var pass, page time.Duration
	for range b.N {
		start := time.Now()
		if _, err := n.statusPass(ctx); err != nil {
			b.Fatal(err)
		}
		pass += time.Since(start)
		start = time.Now()
		if _, err := n.StatusPage(ctx, netstat.PageCursor{}, 50); err != nil {
			b.Fatal(err)
		}
		page += time.Since(start)
	}
	b.ReportMetric(pass.Seconds()/float64(b.N), "s-full-pass")
	b.ReportMetric(page.Seconds()*1000/float64(b.N), "ms-status-page")
}
