package main

import (
	"crypto/rand"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/repo"
	"github.com/cairn-fed/cairn/replication"
	"github.com/cairn-fed/cairn/tombstone"
)

// forgedDeletions: M sends unsigned and mis-signed tombstones and
// acknowledgements about A's object, over gossip (connected to B only, so
// that anything A or C sees was forwarded by B) and over the
// tombstone-sync stream; then, while A's own deletion of the object is in
// its trash window, forged "purged" acknowledgements from B and C.
func (f *hostileFed) forgedDeletions(t *testing.T) {
	obj := f.objs["forged"]
	owner := f.m.learned(obj).Owner
	base := f.snapshot(t, obj)
	forged := f.forgedTombstones(t, obj, owner)
	forged = append(forged, f.forgedAcks(t, obj, 1, tombstone.PhaseApplied)...)

	f.m.disconnect(f.a.fedNode)
	f.m.disconnect(f.c.fedNode)
	f.m.waitJoined(f.b.fedNode)
	f.m.publish(forged...)
	f.m.serveOnSync(forged...)
	f.m.pushBySync(f.b.fedNode)
	changes := f.watch(t, obj, base)
	forwarded := f.forwardedBy(f.b)
	if forwarded != "" {
		changes = append(changes, forwarded)
	}
	f.m.connect(f.a.fedNode)
	f.m.connect(f.c.fedNode)
	f.m.waitJoined(f.a.fedNode, f.b.fedNode, f.c.fedNode)

	// A deletes for real; B and C acknowledge. M then claims, for them,
	// that they purged the blocks.
	cairn(t, f.a.repo, "rm", obj)
	waitFor(t, 20*time.Second, "B and C to acknowledge A's deletion", func() bool {
		v := objectStatus(t, f.a.replNode, obj)
		return v.DeletionView != nil && v.DeletedOn >= 2
	})
	deleted := f.snapshot(t, obj)
	acks := f.forgedAcks(t, obj, 1, tombstone.PhasePurged)
	f.m.publish(acks...)
	f.m.serveOnSync(acks...)
	f.m.pushBySync(f.a.fedNode, f.b.fedNode, f.c.fedNode)
	if d := f.watch(t, obj, deleted); len(d) > 0 {
		changes = append(changes, "during A's deletion: "+strings.Join(d, "; "))
	}
	cairn(t, f.a.repo, "undelete", obj)
	if !eventually(20*time.Second, func() bool { return f.restored(t, obj) }) {
		changes = append(changes, "A's undelete did not restore the object everywhere")
	}
	report(t, fmt.Sprintf("sends %d unsigned or mis-signed tombstones and acknowledgements over gossip and tombstone-sync, then forged purge acknowledgements during a real deletion", len(forged)+len(acks)),
		changes, "refusals logged: "+f.refusals(f.m.id().String()))
}

// forgedTombstones are deletions of obj nobody but its owner or the
// authority may sign: unsigned, signed by M in the owner's or the
// authority's name, and a takedown signed by M.
func (f *hostileFed) forgedTombstones(t testing.TB, obj string, owner []byte) [][]byte {
	t.Helper()
	now := time.Unix(0, time.Now().UnixNano()).UTC()
	authority := f.m.authority()
	base := tombstone.Tombstone{Object: obj, Version: 1, Deleted: true, Kind: tombstone.KindOwner, IssuedAt: now}
	unsigned := base
	unsigned.Signer, unsigned.Signature = owner, make([]byte, 64)
	inOwnersName := base
	if err := inOwnersName.Sign(f.m.key); err != nil {
		t.Fatal(err)
	}
	inOwnersName.Signer = owner
	takedown := base
	takedown.Kind, takedown.Reason = tombstone.KindTakedown, "forged takedown"
	if err := takedown.Sign(f.m.key); err != nil {
		t.Fatal(err)
	}
	inAuthorityName := takedown
	inAuthorityName.Signer = authority
	unsignedTakedown := takedown
	unsignedTakedown.Signer, unsignedTakedown.Signature = authority, make([]byte, 64)
	out := [][]byte{}
	for _, tomb := range []tombstone.Tombstone{unsigned, inOwnersName, takedown, inAuthorityName, unsignedTakedown} {
		out = append(out, marshal(t, tomb))
	}
	return out
}

// forgedAcks are acknowledgements in B's and C's names: unsigned, and
// signed by M.
func (f *hostileFed) forgedAcks(t testing.TB, obj string, version uint64, phase tombstone.Phase) [][]byte {
	t.Helper()
	var out [][]byte
	for _, n := range []*honestNode{f.b, f.c} {
		ack := tombstone.Ack{Object: obj, Kind: tombstone.KindOwner, Version: version, Holder: n.id.PeerID, Phase: phase,
			At: time.Unix(0, time.Now().UnixNano()).UTC()}
		signed := ack
		if err := signed.Sign(f.m.key); err != nil {
			t.Fatal(err)
		}
		ack.Signature = make([]byte, 64)
		out = append(out, marshal(t, ack), marshal(t, signed))
	}
	return out
}

// forwardedBy reports A or C logging a refused deletion message that
// reached them from b: b forwarded M's forgery.
func (f *hostileFed) forwardedBy(b *honestNode) string {
	var out []string
	for _, n := range []*honestNode{f.a, f.c} {
		if c := countLogLines(n.log(), "refused a message", "kind=tombstone", "peer="+b.id.PeerID); c > 0 {
			out = append(out, fmt.Sprintf("%s refused a tombstone message forwarded by %s", n.name, b.name))
		}
	}
	return strings.Join(out, "; ")
}

// replayedTombstone: A deletes its object and undeletes it; M, which heard
// the deletion on gossip, replays it over gossip and tombstone-sync.
func (f *hostileFed) replayedTombstone(t *testing.T) {
	obj := f.objs["replay"]
	cairn(t, f.a.repo, "rm", obj)
	old := f.m.heardTombstone(obj)
	waitFor(t, 20*time.Second, "B and C to apply A's deletion", func() bool {
		v := objectStatus(t, f.a.replNode, obj)
		return v.DeletionView != nil && v.DeletedOn >= 2
	})
	cairn(t, f.a.repo, "undelete", obj)
	waitFor(t, 30*time.Second, "the object restored everywhere", func() bool { return f.restored(t, obj) })
	base := f.snapshot(t, obj)
	data := marshal(t, old)
	f.m.publish(data)
	f.m.serveOnSync(data)
	f.m.pushBySync(f.a.fedNode, f.b.fedNode, f.c.fedNode)
	changes := f.watch(t, obj, base)
	report(t, fmt.Sprintf("replays A's own deletion (version %d) after A undeleted, over gossip and tombstone-sync", old.Version), changes,
		"refusals logged: "+f.refusals(f.m.id().String()))
}

// hostileFloodBound is the most ledger records the suite lets one member
// add on an honest node with objects nobody else attests: a fixed node
// bounds what one member can make it store.
const hostileFloodBound = 1000

// flood: M attests 5,000 random objects to each honest node.
func (f *hostileFed) flood(t *testing.T) {
	const count = 5000
	atts := make([]replication.Attestation, count)
	for i := range atts {
		atts[i] = f.m.attestation(randomCID(t), 1, 3, nil)
	}
	ls, known := map[string]string{}, map[string]int{}
	repairs := map[string]int{}
	for _, n := range f.honest {
		ls[n.name], known[n.name] = lsLine(t, n), objectsKnown(t, n)
		repairs[n.name] = countLogLines(n.log(), `msg="repair: fetching a copy"`)
	}
	start := time.Now()
	var sent []string
	for _, n := range f.honest {
		refused := 0
		for i := 0; i < count; i += 500 {
			if err := f.m.attest(n.fedNode, atts[i:i+500]...); err != nil {
				refused++
			}
		}
		sent = append(sent, fmt.Sprintf("%s %d streams reset", n.name, refused))
	}
	took := time.Since(start)
	var changes, grown, exposed []string
	// A fixed node starts no repair for objects only M claims; wait the
	// window for one to start on a node that does.
	eventually(hostileWindow, func() bool {
		for _, n := range f.honest {
			if countLogLines(n.log(), `msg="repair: fetching a copy"`) > repairs[n.name] {
				return true
			}
		}
		return false
	})
	for _, n := range f.honest {
		g := objectsKnown(t, n) - known[n.name]
		grown = append(grown, fmt.Sprintf("%s +%d", n.name, g))
		if g > hostileFloodBound {
			changes = append(changes, fmt.Sprintf("%s recorded %d of M's %d objects (bound %d)", n.name, g, count, hostileFloodBound))
		}
		if after := lsLine(t, n); after != ls[n.name] {
			changes = append(changes, fmt.Sprintf("%s ls: %s -> %s", n.name, ls[n.name], after))
		}
		if r := countLogLines(n.log(), `msg="repair: fetching a copy"`) - repairs[n.name]; r > 0 {
			changes = append(changes, fmt.Sprintf("%s started %d repair fetches", n.name, r))
		}
		exposed = append(exposed, fmt.Sprintf("%s %s", n.name, f.overBound(t, n)))
	}
	for _, e := range exposed {
		if strings.HasSuffix(e, "none") {
			changes = append(changes, "no over-bound count in /metrics or cairn health: "+e)
		}
	}
	report(t, fmt.Sprintf("attests %d random objects to each honest node", count), changes,
		fmt.Sprintf("ledger growth %s; sent in %s (%s); over-bound count: %s; refusals logged: %s",
			strings.Join(grown, ", "), took.Round(time.Millisecond), strings.Join(sent, ", "), strings.Join(exposed, ", "), f.refusals(f.m.id().String())))
}

func randomCID(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	mh, err := multihash.Sum(b, multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.Raw, mh).String()
}

// objectsKnown is how many objects n's ledger records (cairn status).
func objectsKnown(t testing.TB, n *honestNode) int {
	t.Helper()
	var ov node.StatusOverview
	cairnJSON(t, n.repo, &ov, "status")
	return ov.Tally.Total()
}

// overBound finds what n reports of M's attestations refused over a
// per-member bound: a /metrics sample naming "over_bound" (with M's peer
// or operator as a label), or a cairn health field naming it. Today's
// node has neither; the fix adds a per-member "over bound" count.
var overBoundSample = regexp.MustCompile(`(?m)^cairn_[a-z_]*over_bound[a-z_]*\{[^}]*\} ([0-9.e+]+)$`)

func (f *hostileFed) overBound(t testing.TB, n *honestNode) string {
	t.Helper()
	for _, m := range overBoundSample.FindAllStringSubmatch(f.scrape(t, n), -1) {
		if m[1] != "0" && (strings.Contains(m[0], f.m.id().String()) || strings.Contains(m[0], "mallory")) {
			return "metrics " + m[0]
		}
	}
	if h := cairn(t, n.repo, "health", "--json"); strings.Contains(h, "over_bound") {
		return "health " + grepLines(h, "over_bound")
	}
	return "none"
}

// scrape returns n's /metrics.
func (f *hostileFed) scrape(t testing.TB, n *honestNode) string {
	t.Helper()
	r, err := repo.Open(n.repo)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := r.APIAddr()
	if err != nil {
		t.Fatal(err)
	}
	token, err := r.Token()
	if err != nil {
		t.Fatal(err)
	}
	_, body := scrape(t, addr, token)
	return body
}

// metricSum sums a sample named exactly name over the honest nodes.
func (f *hostileFed) metricSum(t testing.TB, name string) string {
	t.Helper()
	var out []string
	for _, n := range f.honest {
		out = append(out, fmt.Sprintf("%s %d", n.name, sample(f.scrape(t, n), name)))
	}
	return strings.Join(out, ", ")
}
