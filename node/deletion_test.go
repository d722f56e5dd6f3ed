package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/repo"
	"github.com/cairn-fed/cairn/replication"
	"github.com/cairn-fed/cairn/tombstone"
)

// TestForgedTombstonesAreRejected: tombstones for a's object signed by a
// member that is not its owner, with a bad signature, for an unknown
// object or replayed, are refused by a and never delete anything; the
// owner's real deletion is applied once.
func TestForgedTombstonesAreRejected(t *testing.T) {
	ctx := context.Background()
	a, b := federatedPair(t, nil)
	added, err := a.Add(ctx, object.NewReaderSource("note.txt", strings.NewReader("keep me")), AddOptions{Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "b to learn of the object", func() bool {
		var known bool
		b.repl.Do(func(c *replication.Core) { known = c.Status(replication.ObjectID(added.CID), time.Now()).Known })
		return known
	})

	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	forge := func(obj string, version uint64, key ed25519.PrivateKey) tombstone.Tombstone {
		tb := tombstone.Tombstone{Object: obj, Version: version, Deleted: true, Kind: tombstone.KindOwner,
			IssuedAt: time.Now(), Signer: key.Public().(ed25519.PublicKey)}
		if err := tb.Sign(key); err != nil {
			t.Fatal(err)
		}
		return tb
	}
	badSig := forge(added.CID, 1, a.ownerKeys().SigningKey())
	badSig.Signature[0] ^= 1
	unknown, _ := cid.Decode("bafkqaaa")
	for name, forged := range map[string]tombstone.Tombstone{
		"another member's owner key": forge(added.CID, 1, b.ownerKeys().SigningKey()),
		"a stranger's key":           forge(added.CID, 1, stranger),
		"a bad signature":            badSig,
		"an unknown object":          forge(unknown.String(), 1, a.ownerKeys().SigningKey()),
		"an absurd version":          forge(added.CID, 1<<40, a.ownerKeys().SigningKey()),
	} {
		if changed, err := a.applyTombstone(ctx, forged, ""); changed || err == nil {
			t.Errorf("tombstone with %s: changed %v, err %v; want a rejection", name, changed, err)
		}
	}
	if a.isDeleted(added.CID) {
		t.Fatal("a forged tombstone deleted the object")
	}
	faultRow(t, "tombstones signed by another member, a stranger, badly signed, for unknown objects, with absurd versions: accepted of 5", "0", "0")

	if _, err := a.Delete(ctx, added.CID); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "b to apply the owner's deletion", func() bool { return b.isDeleted(added.CID) })
	replay := b.del.Entry(added.CID)
	if changed, err := b.applyTombstone(ctx, replay.Owner, ""); changed || err != nil {
		t.Errorf("replayed tombstone: changed %v, err %v; want a silent no-op", changed, err)
	}
	if _, err := b.Delete(ctx, added.CID); err == nil || !strings.Contains(err.Error(), "only the owner") {
		t.Errorf("b deleting a's object: %v, want ErrNotOwner", err)
	}
}

// TestTakedownByAuthority: the founder holds the authority key and takes
// down b's object; b's own undelete cannot lift it; the authority can.
func TestTakedownByAuthority(t *testing.T) {
	ctx := context.Background()
	a, b := federatedPair(t, nil)
	added, err := b.Add(ctx, object.NewReaderSource("poster.txt", strings.NewReader("contested")), AddOptions{Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	waitKnown(t, a, added.CID)
	if _, err := b.Takedown(ctx, added.CID, "no reason", false); err == nil {
		t.Error("a takedown from a node without the authority key succeeded")
	}
	if _, err := a.Takedown(ctx, added.CID, "", false); err == nil {
		t.Error("a takedown without a reason succeeded")
	}
	if _, err := a.Takedown(ctx, added.CID, "court order 12", false); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "b to apply the takedown", func() bool { return b.isDeleted(added.CID) })
	if _, err := b.Undelete(ctx, added.CID); err == nil {
		t.Error("the owner's undelete lifted an authority's takedown")
	}
	if _, err := a.Takedown(ctx, added.CID, "", true); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "b to apply the lifted takedown", func() bool { return !b.isDeleted(added.CID) })
}

// TestSilentHolderIsFlagged: a holder that never acknowledges a deletion
// (here: it is down) is flagged in a's health as ignoring tombstones once
// deletion.ack_timeout has passed.
func TestSilentHolderIsFlagged(t *testing.T) {
	ctx := context.Background()
	a, b := federatedPairWith(t, nil, func(r *repo.Repo) { r.Config.Deletion.AckTimeout.Duration = time.Second })
	added, err := a.Add(ctx, object.NewReaderSource("ledger.txt", strings.NewReader("accounts")), AddOptions{Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "a to see b's copy", func() bool {
		v, err := a.Status(ctx, added.CID)
		return err == nil && len(v.Holders) == 2
	})
	b.Close()
	if _, err := a.Delete(ctx, added.CID); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "a to flag b as ignoring tombstones", func() bool {
		h, err := a.Health(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range h.Flagged {
			if f.PeerID == b.net.host.ID().String() && f.Flag == netstat.FlagIgnoringTombstones {
				return true
			}
		}
		return false
	})
	h, err := a.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.TombstonesPending != 1 {
		t.Errorf("health: %d tombstones pending, want 1 (b never acknowledged)", h.TombstonesPending)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(a.MetricsCollector())
	if pending := gathered(t, reg, "cairn_tombstones_pending"); pending != 1 {
		t.Errorf("cairn_tombstones_pending %v, want 1", pending)
	}
	if lag := gathered(t, reg, "cairn_tombstone_propagation_lag_seconds"); lag < 1 {
		t.Errorf("propagation lag %v s, want at least deletion.ack_timeout (1 s)", lag)
	}
	faultRow(t, "a holder that never acknowledges a deletion: flagged as ignoring tombstones after deletion.ack_timeout", "yes", "yes")
}

// waitKnown waits until n's replication core knows of the object id.
func waitKnown(t *testing.T, n *Node, id string) {
	t.Helper()
	waitUntil(t, 10*time.Second, "the node to learn of the object", func() bool {
		var known bool
		n.repl.Read(func(c *replication.Core) { known = c.Status(replication.ObjectID(id), time.Now()).Known })
		return known
	})
}
