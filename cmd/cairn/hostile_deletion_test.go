package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/tombstone"
)

// forgedDeletions: M sends unsigned and mis-signed tombstones and
// acknowledgements about A's object, over gossip (connected to B only, so
// that anything A or C sees was forwarded by B) and over the
// tombstone-sync stream; then, while A's own deletion of the object is in
// its trash window, forged "purged" acknowledgements from B and C.
func (f *hostileFed) forgedDeletions(t *testing.T) {
	obj := f.objs["forged"]
	owner := ownerOf(t, f.m.learned(obj))
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
	f.settleCatalog(t)
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
	f.settleCatalog(t)
	base := f.snapshot(t, obj)
	data := marshal(t, old)
	f.m.publish(data)
	f.m.serveOnSync(data)
	f.m.pushBySync(f.a.fedNode, f.b.fedNode, f.c.fedNode)
	changes := f.watch(t, obj, base)
	report(t, fmt.Sprintf("replays A's own deletion (version %d) after A undeleted, over gossip and tombstone-sync", old.Version), changes,
		"refusals logged: "+f.refusals(f.m.id().String()))
}
