package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/replication"
	"github.com/cairn-fed/cairn/tombstone"
)

// TestHostileMember: one compromised member M, admitted with its own
// operator and region and holding nothing but its identity key, sends the
// messages any member may send, crafted to hurt the other members'
// backups. Whatever it sends, the honest nodes' objects, copies, targets,
// holders and blocks stay as they were, and the refusal is reported. Each
// attack has an object of its own and a fault-table row.
func TestHostileMember(t *testing.T) {
	f := setupHostile(t)
	t.Logf("M is %s (sorts first after %d identities); A %s, B %s, C %s",
		f.m.id(), f.tries, f.a.id.PeerID, f.b.id.PeerID, f.c.id.PeerID)
	t.Run("1 false block count", f.falseBlockCount)
	t.Run("2 false owner key sorted first", f.falseOwner)
	t.Run("3 inflated target", f.inflatedTarget)
	t.Run("5 challenges past the end", f.challengesPastEnd)
	t.Run("6 unsigned and mis-signed tombstones and acks", f.forgedDeletions)
	t.Run("7 replayed tombstone after undelete", f.replayedTombstone)
	t.Run("4 flood of random objects", f.flood) // last: it loads every node
}

// attestAll delivers atts to every honest node and waits until each lists
// M as a holder of obj or logged a refusal of M's attestations.
func (f *hostileFed) attestAll(t *testing.T, obj string, atts ...replication.Attestation) string {
	t.Helper()
	var seen []string
	for _, n := range f.honest {
		if err := f.m.attest(n.fedNode, atts...); err != nil {
			seen = append(seen, n.name+" reset the stream")
			continue
		}
		listed := eventually(10*time.Second, func() bool {
			return f.mState(t, n, obj) != "" || countLogLines(n.log(), "refused a message", "kind=attestation", "peer="+f.m.id().String()) > 0
		})
		seen = append(seen, fmt.Sprintf("%s lists M as %q (processed %v)", n.name, f.mState(t, n, obj), listed))
	}
	return strings.Join(seen, "; ")
}

// challengesFailed is, per honest node, how many of its challenges of the
// other honest nodes failed (/metrics); M's own failures do not count.
func (f *hostileFed) challengesFailed(t testing.TB) string {
	t.Helper()
	var out []string
	for _, n := range f.honest {
		failed := 0
		for _, l := range strings.Split(f.scrape(t, n), "\n") {
			if !strings.HasPrefix(l, "cairn_challenges_total{") || !strings.Contains(l, `result="failed"`) {
				continue
			}
			for _, o := range f.honest {
				if o != n && strings.Contains(l, `peer="`+o.id.PeerID+`"`) {
					_, v, _ := strings.Cut(l, "} ")
					c, _ := strconv.ParseFloat(v, 64)
					failed += int(c)
				}
			}
		}
		out = append(out, fmt.Sprintf("%s %d", n.name, failed))
	}
	return strings.Join(out, ", ")
}

// report fails the subtest when changes were seen and prints its row.
func report(t *testing.T, scenario string, changes []string, how string) {
	t.Helper()
	what := "nothing changed"
	if len(changes) > 0 {
		what = strings.Join(changes, "; ")
		t.Errorf("the attack changed the honest nodes: %s", what)
	}
	t.Logf("measured: %s; %s", what, how)
	faultRow(t, "hostile member: "+scenario, what+"; "+how, "nothing changed; refused and reported")
}

// falseBlockCount: M attests A's object with 2^30 blocks and a huge Seq,
// drops and redials its connections (each honest node then re-tracks the
// copies it shares with M), and challenges each node for a block past the
// object's real end but below the count M claimed.
func (f *hostileFed) falseBlockCount(t *testing.T) {
	obj := f.objs["blocks"]
	real := f.m.learned(obj)
	base, failedBefore := f.snapshot(t, obj), f.challengesFailed(t)
	accepted := f.attestAll(t, obj, f.m.attestation(obj, 1<<30, real.Target, func(a *replication.Attestation) { a.Seq = 1 << 40 }))
	for _, n := range f.honest {
		f.m.reconnect(n.fedNode)
	}
	var answers []string
	for _, n := range f.honest {
		resp, err := f.m.challenge(n.fedNode, obj, []int{real.Leaves + 1000})
		answers = append(answers, fmt.Sprintf("%s %s", n.name, describeAnswer(resp, err)))
	}
	changes := f.watch(t, obj, base)
	if rec, ok := ownerRecord(t, f.a, obj); !ok {
		changes = append(changes, "A's record is now "+rec)
	}
	if after := f.challengesFailed(t); after != failedBefore {
		changes = append(changes, fmt.Sprintf("failed challenges %s -> %s", failedBefore, after))
	}
	report(t, fmt.Sprintf("attests %d real blocks as 2^30 with Seq 2^40, reconnects, challenges block %d", real.Leaves, real.Leaves+1000),
		changes, fmt.Sprintf("attestation: %s; past-end challenge: %s; refusals logged: %s", accepted, strings.Join(answers, ", "), f.refusals(f.m.id().String())))
}

func describeAnswer(resp replication.Answer, err error) string {
	switch {
	case err != nil:
		return "refused (no answer)"
	case resp.Refused:
		return "answered \"not held\""
	}
	return "answered a digest"
}

// falseOwner: M, whose peer ID sorts before A's, B's and C's, attests A's
// object with a policy naming its own key as the owner (the honest root
// with M's key spliced in, signed by M), then deletes it with an owner
// tombstone it signs, over gossip and the tombstone-sync stream, before
// and after B and C restart (a restart reloads the ledger in peer order).
// Afterwards A, the real owner, must still be able to rm and undelete.
func (f *hostileFed) falseOwner(t *testing.T) {
	obj := f.objs["owner"]
	real := f.m.learned(obj)
	base := f.snapshot(t, obj)
	accepted := f.attestAll(t, obj, f.m.attestation(obj, real.Leaves, real.Target, func(a *replication.Attestation) { a.Policy = f.m.forgedPolicy(t, real) }))
	tomb := tombstone.Tombstone{Object: obj, Version: 1, Deleted: true, Kind: tombstone.KindOwner, IssuedAt: time.Now()}
	if err := tomb.Sign(f.m.key); err != nil {
		t.Fatal(err)
	}
	data := marshal(t, tomb)
	f.m.publish(data)
	f.m.serveOnSync(data)
	f.m.pushBySync(f.a.fedNode, f.b.fedNode, f.c.fedNode)
	changes := f.watch(t, obj, base)

	for _, n := range []*honestNode{f.b, f.c} {
		n.restart(f.top)
	}
	cairn(t, f.b.repo, "connect", f.a.id.Addrs[0])
	cairn(t, f.c.repo, "connect", f.a.id.Addrs[0])
	cairn(t, f.c.repo, "connect", f.b.id.Addrs[0])
	// A restart is not the attack: a copy counts again only once its
	// restarted holder answers a challenge. Wait for the federation to be
	// as before the restart, then attack again.
	if !eventually(30*time.Second, func() bool { return len(base.diff(f.snapshot(t, obj))) == 0 }) {
		changes = append(changes, "the federation did not return to its state before B and C restarted: "+strings.Join(base.diff(f.snapshot(t, obj)), "; "))
	}
	before := map[*honestNode]int{f.b: f.m.pulled(f.b.fedNode), f.c: f.m.pulled(f.c.fedNode)}
	for _, n := range []*honestNode{f.b, f.c} {
		f.m.connect(n.fedNode) // B and C pull M's tombstone as they meet M again
		waitFor(t, 20*time.Second, "the restarted node to pull from M", func() bool { return f.m.pulled(n.fedNode) > before[n] })
	}
	f.m.waitJoined(f.b.fedNode, f.c.fedNode)
	f.m.publish(data)
	if len(changes) == 0 {
		changes = f.watch(t, obj, base)
	}
	owners := make([]string, 0, 2)
	for _, n := range []*honestNode{f.b, f.c} {
		owners = append(owners, fmt.Sprintf("%s lists M as %q", n.name, f.mState(t, n, obj)))
	}

	rm, rmErr := cairnResult(t, f.a.repo, nil, "rm", obj)
	un, unErr := cairnResult(t, f.a.repo, nil, "undelete", obj)
	back := rmErr == nil && unErr == nil && eventually(20*time.Second, func() bool { return f.restored(t, obj) })
	f.settleCatalog(t)
	if !back {
		var views []string
		for _, n := range f.honest {
			views = append(views, n.name+" "+f.statusLine(t, n, obj))
		}
		changes = append(changes, fmt.Sprintf("A's own rm (%v) then undelete (%v) did not restore it everywhere: %s; %s %s",
			rmErr, unErr, strings.Join(views, "; "), strings.TrimSpace(rm), strings.TrimSpace(un)))
	}
	report(t, "attests A's object with its own key as owner (peer ID sorted first), gossips and serves an owner tombstone signed by itself, before and after B and C restart",
		changes, fmt.Sprintf("attestation: %s; after restart %s; A's rm and undelete restored it: %v; refusals logged: %s", accepted, strings.Join(owners, ", "), back, f.refusals(f.m.id().String())))
}

// inflatedTarget: M attests A's object with target 255.
func (f *hostileFed) inflatedTarget(t *testing.T) {
	obj := f.objs["target"]
	real := f.m.learned(obj)
	base := f.snapshot(t, obj)
	queued := f.metricSum(t, "cairn_repair_queue")
	accepted := f.attestAll(t, obj, f.m.attestation(obj, real.Leaves, 255, nil))
	changes := f.watch(t, obj, base)
	if after := f.metricSum(t, "cairn_repair_queue"); after != queued {
		changes = append(changes, fmt.Sprintf("repair queue %s -> %s", queued, after))
	}
	report(t, "attests A's object (target 3) with target 255", changes,
		fmt.Sprintf("attestation: %s; refusals logged: %s", accepted, f.refusals(f.m.id().String())))
}

// challengesPastEnd: M attests a copy of the object (so it may challenge
// its holders), challenges B for blocks past the real end, then sends a
// storm of such challenges.
func (f *hostileFed) challengesPastEnd(t *testing.T) {
	obj := f.objs["challenge"]
	real := f.m.learned(obj)
	accepted := f.attestAll(t, obj, f.m.attestation(obj, real.Leaves, real.Target, nil))
	base := f.snapshot(t, obj)
	first := []string{}
	for _, leaves := range [][]int{{real.Leaves}, {real.Leaves - 1, real.Leaves + 5}, {1 << 20}} {
		resp, err := f.m.challenge(f.b.fedNode, obj, leaves)
		first = append(first, fmt.Sprintf("%v %s", leaves, describeAnswer(resp, err)))
	}
	const storm = 300
	answered := 0
	start := time.Now()
	for i := range storm {
		if resp, err := f.m.challenge(f.b.fedNode, obj, []int{real.Leaves + i}); err == nil && !resp.Refused {
			answered++
		}
	}
	took := time.Since(start)
	changes := f.watch(t, obj, base)
	if answered > 0 {
		changes = append(changes, fmt.Sprintf("B answered %d of %d past-end challenges with a digest", answered, storm))
	}
	report(t, fmt.Sprintf("challenges B for blocks past the end (%d blocks), then a storm of %d", real.Leaves, storm), changes,
		fmt.Sprintf("attestation: %s; single challenges: %s; storm answered %d/%d in %s; refusals logged: %s",
			accepted, strings.Join(first, ", "), answered, storm, took.Round(time.Millisecond), f.refusals(f.m.id().String())))
}
