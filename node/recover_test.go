package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/catalog"
	"github.com/cairn-fed/cairn/internal/keys"
	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/node/repo"
)

func fastCatalog(r *repo.Repo) {
	r.Config.Catalog.Interval.Duration = 100 * time.Millisecond
	r.Config.Fetch.StallTimeout.Duration = time.Second // an object nobody holds is given up on soon
}

// holds reports whether n keeps a record of every object named.
func holds(t *testing.T, n *Node, ids ...string) bool {
	recs, err := n.disk.index.list(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if !slices.ContainsFunc(recs, func(r ObjectRecord) bool { return r.ID == id }) {
			return false
		}
	}
	return true
}

// TestRecoverRestoresTheOwnersListing: an owner adds two objects and
// deletes one; its node is closed for good. A new member given the
// owner's key finds the catalog, lists both objects with their names and
// capabilities, opens the live one, and deletes and undeletes as the
// owner. Asking for the listing before the deletion shows the deleted
// object live.
func TestRecoverRestoresTheOwnersListing(t *testing.T) {
	ctx := context.Background()
	a, b := federatedPairWith(t, nil, fastCatalog)
	c := startNode(t, "c", slog.New(slog.DiscardHandler), fastCatalog)
	d := startNode(t, "d", slog.New(slog.DiscardHandler), fastCatalog)
	for i, n := range []*Node{c, d} {
		token, err := a.FederationAdmit(ctx, n.net.host.ID().String(), []string{"op-c", "op-d"}[i], "ap")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.FederationJoin(ctx, token); err != nil {
			t.Fatal(err)
		}
	}
	lost, err := a.Add(ctx, object.NewReaderSource("lost.txt", strings.NewReader("kept on the owner's node alone")), AddOptions{Name: "lost", Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	kept, err := a.Add(ctx, object.NewReaderSource("kept.txt", strings.NewReader("what the owner keeps")), AddOptions{Name: "kept", Replicas: 4})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := a.Add(ctx, object.NewReaderSource("gone.txt", strings.NewReader("what the owner deletes")), AddOptions{Name: "gone", Replicas: 4})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "b, c and d to hold both objects", func() bool {
		return holds(t, b, kept.CID, gone.CID) && holds(t, c, kept.CID, gone.CID) && holds(t, d, kept.CID, gone.CID)
	})
	waitUntil(t, 10*time.Second, "a catalog version with both objects", func() bool { return a.Catalog().Version >= 1 && !a.Catalog().Pending })
	beforeDeletion := time.Now()
	if _, err := a.Delete(ctx, gone.CID); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "a catalog version with the deletion", func() bool { return a.Catalog().Version >= 2 && !a.Catalog().Pending })
	head := a.Catalog()
	waitUntil(t, 30*time.Second, "two members to hold every catalog version", func() bool {
		recs, _ := a.disk.index.list(ctx)
		for _, r := range recs {
			held := 0
			for _, n := range []*Node{b, c, d} {
				if r.Catalog && holds(t, n, r.ID) {
					held++
				}
			}
			if r.Catalog && held < 2 {
				return false
			}
		}
		return true
	})
	owner := keys.FromSecret(a.ownerKeys().Secret())
	pub := owner.CatalogKey().Public().(ed25519.PublicKey)
	waitUntil(t, 10*time.Second, "the head to reach b and c", func() bool {
		hb, okb := b.headKept(pub)
		hc, okc := c.headKept(pub)
		return okb && okc && hb.Seq == head.Version && hc.Seq == head.Version
	})
	a.Close()

	if _, err := c.Recover(ctx, keys.FromSecret([32]byte{1}), RecoverOptions{}); !errors.Is(err, ErrNoCatalog) {
		t.Fatalf("recover with a key that has no catalog: %v", err)
	}
	report, err := c.Recover(ctx, owner, RecoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Restored) != 2 || len(report.Unreachable) != 1 || report.Unreachable[0].CID != lost.CID ||
		!strings.Contains(report.Unreachable[0].Error, "no connected member serves it") {
		t.Fatalf("restored %+v, unreachable %+v; want 2 restored and the object only the lost node held named", report.Restored, report.Unreachable)
	}
	list, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range list {
		if o.Role == RoleOwner {
			got[o.Name] = o.Capability
		}
	}
	if got["kept"] != kept.Capability || got["gone"] != gone.Capability || len(got) != 2 {
		t.Fatalf("listing after recovery: %v", got)
	}
	obj, err := c.Open(ctx, kept.Capability)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := obj.WriteFile(ctx, "kept.txt", &buf); err != nil || buf.String() != "what the owner keeps" {
		t.Fatalf("restored contents %q, %v", buf.String(), err)
	}
	waitUntil(t, 10*time.Second, "c to write the next catalog version", func() bool { return c.Catalog().Version == head.Version+1 })
	if l, err := c.ownerListing(ctx); err != nil || l[lost.CID].Name != "lost" {
		t.Fatalf("the object recovery could not restore left the catalog: %v, %v", l, err)
	}

	// Another node asks for the listing as it was before the deletion:
	// both objects, the deleted one recorded for undelete.
	past, err := d.Recover(ctx, owner, RecoverOptions{At: beforeDeletion})
	if err != nil {
		t.Fatal(err)
	}
	deleted := map[string]bool{}
	for _, o := range past.Restored {
		deleted[o.Name] = o.Deleted
	}
	if len(deleted) != 2 || deleted["kept"] || !deleted["gone"] {
		t.Fatalf("listing before the deletion: %+v", past.Restored)
	}

	waitUntil(t, 10*time.Second, "c to learn the deletion", func() bool { return c.isDeleted(gone.CID) })
	if _, err := c.Undelete(ctx, gone.CID); err != nil {
		t.Fatalf("undelete as the recovered owner: %v", err)
	}
	if _, err := c.Delete(ctx, kept.CID); err != nil {
		t.Fatalf("delete as the recovered owner: %v", err)
	}
	waitUntil(t, 30*time.Second, "c to fetch the undeleted object back", func() bool {
		ok, err := c.haveAll(ctx, mustCID(t, gone.CID))
		return err == nil && ok
	})

	// c and d both write the owner's catalog now: c's versions must not
	// be lost behind d's under the same numbers.
	waitUntil(t, 10*time.Second, "b to keep c's latest catalog head", func() bool {
		info := c.Catalog()
		own, _ := c.ownHead()
		kept, ok := b.headKept(pub)
		return !info.Pending && ok && kept.Seq == own.Seq && bytes.Equal(kept.Signature, own.Signature)
	})
}

// TestRecoverRefusesANodeWhoseOwnerAddedObjects: recovering onto a node
// whose own owner added something would mix two owners' objects.
func TestRecoverRefusesANodeWhoseOwnerAddedObjects(t *testing.T) {
	ctx := context.Background()
	a, _ := federatedPairWith(t, nil, fastCatalog)
	if _, err := a.Add(ctx, object.NewReaderSource("x", strings.NewReader("mine")), AddOptions{Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	other, _ := keys.Generate()
	if err := a.AdoptOwner(ctx, other); !errors.Is(err, ErrOwnsObjects) {
		t.Fatalf("adopt another owner's key over objects: %v", err)
	}
}

// TestCatalogHeadsFromAMemberAreBounded: a member publishing forged heads
// or heads of more catalogs than its share is refused, and the refusal
// is counted.
func TestCatalogHeadsFromAMemberAreBounded(t *testing.T) {
	ctx := context.Background()
	a, b := federatedPair(t, nil)
	head := func(seed byte) catalog.Head {
		priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32))
		h := catalog.Head{Seq: 1, Time: time.Now(), Sealed: []byte("sealed capability")}
		h.Sign(priv)
		return h
	}
	forged := head(1)
	forged.Seq = 9
	if _, err := b.catalogExchange(ctx, a.net.host.ID(), catalogRequest{Put: &forged}); err == nil {
		t.Fatal("a forged head was kept")
	}
	for i := range catalog.MaxHeadsPerPublisher {
		h := head(byte(10 + i))
		if _, err := b.catalogExchange(ctx, a.net.host.ID(), catalogRequest{Put: &h}); err != nil {
			t.Fatalf("head %d: %v", i, err)
		}
	}
	over := head(99)
	if _, err := b.catalogExchange(ctx, a.net.host.ID(), catalogRequest{Put: &over}); err == nil || !strings.Contains(err.Error(), "too many") {
		t.Fatalf("a head past the member's bound: %v", err)
	}
	if got := len(a.rejected.overBounds()); got != 1 {
		t.Fatalf("%d members flagged over a bound, want 1", got)
	}
	if _, ok := a.headKept(over.Catalog); ok {
		t.Fatal("the head past the bound was kept")
	}
}

// TestRecoverRefusesACatalogItCannotTrust: a head whose sealed capability
// does not open, and a head that names another owner's catalog version,
// are clear errors, and the node adopts nothing.
func TestRecoverRefusesACatalogItCannotTrust(t *testing.T) {
	ctx := context.Background()
	a, _ := federatedPairWith(t, nil, fastCatalog)
	c := startNode(t, "c", slog.New(slog.DiscardHandler), fastCatalog)
	fresh := startNode(t, "fresh", slog.New(slog.DiscardHandler), fastCatalog)
	for i, n := range []*Node{c, fresh} {
		token, err := a.FederationAdmit(ctx, n.net.host.ID().String(), []string{"op-c", "op-f"}[i], "ap")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.FederationJoin(ctx, token); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range []*Node{a, c} {
		if _, err := n.Add(ctx, object.NewReaderSource("x", strings.NewReader("object of "+string(rune('a'+i)))), AddOptions{Replicas: 1}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 10*time.Second, "a catalog version", func() bool { return n.Catalog().Version >= 1 && !n.Catalog().Pending })
	}
	owner := keys.FromSecret(a.ownerKeys().Secret())
	priv := owner.CatalogKey()
	pub := priv.Public().(ed25519.PublicKey)
	cHead, _ := c.ownHead()
	capC, err := cHead.Open(c.ownerKeys().CatalogSealKey())
	if err != nil {
		t.Fatal(err)
	}
	publish := func(seq uint64, sealed []byte) {
		h := catalog.Head{Seq: seq, Time: time.Now(), Sealed: sealed}
		h.Sign(priv)
		if _, err := a.catalogExchange(ctx, c.net.host.ID(), catalogRequest{Put: &h}); err != nil {
			t.Fatal(err)
		}
	}
	freshOwner := fresh.ownerKeys()
	publish(50, catalog.Seal(owner.CatalogSealKey(), pub, 50, capC, [24]byte{1}))
	if _, err := fresh.Recover(ctx, owner, RecoverOptions{}); !errors.Is(err, catalog.ErrOtherOwner) {
		t.Fatalf("a head naming another owner's catalog: %v", err)
	}
	publish(60, bytes.Repeat([]byte{7}, 64))
	if _, err := fresh.Recover(ctx, owner, RecoverOptions{}); !errors.Is(err, catalog.ErrSealed) {
		t.Fatalf("a head whose capability does not open: %v", err)
	}
	if _, err := c.Recover(ctx, owner, RecoverOptions{}); !errors.Is(err, ErrOwnsObjects) {
		t.Fatalf("recover on a node whose owner added objects: %v", err)
	}
	if fresh.ownerKeys() != freshOwner {
		t.Fatal("a failed recovery replaced the node's owner key")
	}
}
