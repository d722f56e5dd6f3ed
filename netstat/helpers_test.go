package netstat

import (
	"time"

	"github.com/cairn-fed/cairn/replication"
	"github.com/cairn-fed/cairn/tombstone"
)

var epoch = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

const cid = "bafyobject"

func testViewer(t interface{ Fatal(...any) }) *Viewer {
	v, err := NewViewer(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// owner is this node, the owner's, holding its pinned copy.
func owner() replication.HolderStatus {
	return replication.HolderStatus{Peer: "p1", Operator: "opA", Region: "eu", Local: true, Pinned: true, State: replication.HolderVerified}
}

func verified(peer, op, region string, ago time.Duration) replication.HolderStatus {
	return replication.HolderStatus{Peer: replication.PeerID(peer), Operator: op, Region: region,
		State: replication.HolderVerified, VerifiedAt: epoch.Add(-ago), CheckedAt: epoch.Add(-ago)}
}

func unverified(peer, op, region string) replication.HolderStatus {
	return replication.HolderStatus{Peer: replication.PeerID(peer), Operator: op, Region: region,
		State: replication.HolderUnverified, Reason: "not challenged yet"}
}

func failed(peer, op, region string, lastPass time.Duration) replication.HolderStatus {
	return replication.HolderStatus{Peer: replication.PeerID(peer), Operator: op, Region: region,
		State: replication.HolderFailed, VerifiedAt: epoch.Add(-lastPass), CheckedAt: epoch.Add(-time.Second),
		Reason: "digest mismatch"}
}

// input builds an ObjectInput the way replication.Core.Status would
// report it: Copies and Regions counted from the verified holders.
func input(target int, firstSeenAgo time.Duration, hs ...replication.HolderStatus) ObjectInput {
	st := replication.ObjectStatus{Object: cid, Known: true, Target: target, Holders: hs}
	ops, regions := map[string]bool{}, map[string]bool{}
	for _, h := range hs {
		if h.State == replication.HolderVerified {
			ops[h.Operator], regions[h.Region] = true, true
		}
		st.HeldLocally = st.HeldLocally || h.Local
	}
	st.Copies, st.Regions = len(ops), len(regions)
	if st.Copies >= target {
		st.LastFullyReplicatedAt = epoch
	}
	return ObjectInput{Status: st, FirstSeen: epoch.Add(-firstSeenAgo)}
}

func withFull(in ObjectInput, ago time.Duration) ObjectInput {
	in.Status.LastFullyReplicatedAt = epoch.Add(-ago)
	return in
}

func withDeletion(in ObjectInput, holders, deletedOn, purgedOn int, unconfirmed ...tombstone.Unconfirmed) ObjectInput {
	in.Deletion = tombstone.Progress{Object: cid, Deleted: true, Holders: holders, DeletedOn: deletedOn,
		PurgedOn: purgedOn, Unconfirmed: unconfirmed, Now: epoch}
	return in
}
