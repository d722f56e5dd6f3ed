package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/internal/wire"
	"github.com/cairn-fed/cairn/node/deletions"
	"github.com/cairn-fed/cairn/node/replicas"
	"github.com/cairn-fed/cairn/replication"
	"github.com/cairn-fed/cairn/tombstone"
)

// junkMessage is one hostile tombstone or acknowledgement and the key
// under which it would be stored.
type junkMessage struct {
	name   string
	object string
	data   []byte
	key    datastore.Key
}

// junkDeletions makes, for obj (whose owner a knows to be owner), forged
// tombstones and acknowledgements: unsigned, mis-signed, signed by the
// wrong key, claiming another holder, from a stranger; and an owner
// tombstone for an object nobody knows.
func junkDeletions(t *testing.T, obj string, owner ed25519.PublicKey, a, b *Node) (refused, unverifiable []junkMessage) {
	t.Helper()
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()
	tomb := func(object string, kind tombstone.Kind, signer ed25519.PublicKey, key ed25519.PrivateKey, mangle func([]byte)) tombstone.Tombstone {
		tb := tombstone.Tombstone{Object: object, Version: 1, Deleted: true, Kind: kind, IssuedAt: now, Signer: signer}
		if kind == tombstone.KindTakedown {
			tb.Reason = "forged"
		}
		if err := tb.Sign(key); err != nil {
			t.Fatal(err)
		}
		mangle(tb.Signature)
		return tb
	}
	ack := func(holder string, key ed25519.PrivateKey, mangle func([]byte)) tombstone.Ack {
		a := tombstone.Ack{Object: obj, Kind: tombstone.KindOwner, Version: 1, Holder: holder, Phase: tombstone.PhaseApplied, At: now}
		if err := a.Sign(key); err != nil {
			t.Fatal(err)
		}
		mangle(a.Signature)
		return a
	}
	keep := func([]byte) {}
	flip := func(s []byte) { s[0] ^= 1 }
	unsign := func(s []byte) { clear(s) }
	strangerID := peerOf(t, stranger)
	tombs := map[string]tombstone.Tombstone{
		"unsigned owner tombstone":                   tomb(obj, tombstone.KindOwner, owner, stranger, unsign),
		"mis-signed owner tombstone":                 tomb(obj, tombstone.KindOwner, owner, b.ownerKeys().SigningKey(), flip),
		"owner tombstone signed by another key":      tomb(obj, tombstone.KindOwner, stranger.Public().(ed25519.PublicKey), stranger, keep),
		"takedown signed by a member, not authority": tomb(obj, tombstone.KindTakedown, b.keys.node.Public().(ed25519.PublicKey), b.keys.node, keep),
		"unsigned takedown in the authority's name":  tomb(obj, tombstone.KindTakedown, a.currentRoster().AuthorityKey, stranger, unsign),
	}
	acks := map[string]tombstone.Ack{
		"unsigned acknowledgement":                      ack(b.net.host.ID().String(), b.keys.node, unsign),
		"mis-signed acknowledgement":                    ack(b.net.host.ID().String(), b.keys.node, flip),
		"acknowledgement in another member's name":      ack(a.net.host.ID().String(), b.keys.node, keep),
		"acknowledgement from a peer not in the roster": ack(strangerID, stranger, keep),
	}
	for name, tb := range tombs {
		refused = append(refused, junkMessage{name, tb.Object, marshal(t, tb), deletions.TombstoneKey(tb)})
	}
	for name, ak := range acks {
		refused = append(refused, junkMessage{name, ak.Object, marshal(t, ak), deletions.AckKey(ak)})
	}
	h, err := multihash.Sum([]byte("nobody added this"), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	unknown := tomb(cid.NewCidV1(cid.Raw, h).String(), tombstone.KindOwner, owner, b.ownerKeys().SigningKey(), keep)
	unverifiable = append(unverifiable, junkMessage{"owner tombstone for an object whose owner is unknown", unknown.Object, marshal(t, unknown), deletions.TombstoneKey(unknown)})
	return refused, unverifiable
}

func marshal(t *testing.T, m interface{ MarshalBinary() ([]byte, error) }) []byte {
	t.Helper()
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func peerOf(t *testing.T, k ed25519.PrivateKey) string {
	t.Helper()
	pub, err := crypto.UnmarshalEd25519PublicKey(k.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

// serveJunkSync makes b answer tombstone-sync pulls with junk frames.
func serveJunkSync(b *Node, junk []junkMessage) {
	b.net.host.SetStreamHandler(TombstoneSyncProtocol, func(s network.Stream) {
		defer s.Close()
		r := bufio.NewReader(s)
		if _, err := wire.ReadFrame(r, maxDigestBytes); err != nil {
			s.Reset()
			return
		}
		writeMarshaled(s, tombstone.Digest{1}) // differs everywhere that matters
		if _, err := wire.ReadFrame(r, maxListingBytes); err != nil {
			s.Reset()
			return
		}
		for _, j := range junk {
			wire.WriteFrame(s, j.data)
		}
	})
}

// TestJunkDeletionsAreNeitherForwardedNorStored: a member (b) sends a
// unsigned, mis-signed and wrongly signed tombstones and acknowledgements
// over gossip and over the tombstone-sync stream. a refuses each one
// before gossip forwards it (the observer, connected to a alone, never
// sees one, though it does see b's genuine deletion that follows) and
// stores none of them. An owner tombstone for an object a knows nothing
// of is not forwarded either.
func TestJunkDeletionsAreNeitherForwardedNorStored(t *testing.T) {
	ctx := context.Background()
	a, b := federatedPair(t, nil)
	fed := a.currentRoster().FederationID
	obs := observeGossip(t, a, "/cairn/"+fed+"/tombstones")
	added, err := b.Add(ctx, object.NewReaderSource("mine.txt", strings.NewReader("b's data")), AddOptions{Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "a to learn the owner of b's object", func() bool { return nodeKeys{a}.ObjectOwner(added.CID) != nil })
	refused, unverifiable := junkDeletions(t, added.CID, nodeKeys{b}.ObjectOwner(added.CID), a, b)
	topic, err := b.deletionTopic(fed)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "b and the gossipObserver to meet a on the tombstone topic", func() bool {
		return hasPeer(topic.ListPeers(), a.net.host.ID()) && len(a.net.tombstones.topic.ListPeers()) >= 2
	})
	waitForwarding(t, ctx, a, b, obs)

	before := a.rejected.count("tombstone")
	for _, j := range append(refused, unverifiable...) {
		if err := topic.Publish(ctx, j.data); err != nil {
			t.Fatalf("publish %s: %v", j.name, err)
		}
	}
	waitUntil(t, 10*time.Second, "a to refuse the gossiped junk", func() bool {
		return a.rejected.count("tombstone")-before >= int64(len(refused))
	})

	serveJunkSync(b, append(refused, unverifiable...))
	before = a.rejected.count("tombstone")
	if err := a.syncTombstones(ctx, b.net.host.ID()); err != nil {
		t.Fatalf("tombstone sync with b: %v", err)
	}
	if got := a.rejected.count("tombstone") - before; got < int64(len(refused)) {
		t.Errorf("tombstone sync: %d refused, want %d", got, len(refused))
	}

	// A genuine deletion, gossiped after the junk, reaches the gossipObserver
	// through a: had a forwarded junk, the gossipObserver would have it.
	if _, err := b.Delete(ctx, added.CID); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "the gossipObserver to get b's genuine tombstone through a", func() bool {
		return obs.receivedTombstone(added.CID, nodeKeys{b}.ObjectOwner(added.CID))
	})
	for _, j := range append(refused, unverifiable...) {
		if obs.received(j.data) {
			t.Errorf("%s: forwarded by a", j.name)
		}
		if stored, err := a.disk.meta.Get(ctx, j.key); err == nil && bytes.Equal(stored, j.data) {
			t.Errorf("%s: stored by a", j.name)
		}
	}
	if a.isDeleted(unverifiable[0].object) {
		t.Error("a tombstone for an unknown object deleted it")
	}
	faultRow(t, fmt.Sprintf("unsigned and mis-signed tombstones and acknowledgements over gossip and tombstone sync: forwarded or stored of %d", 2*len(refused)+2), "0", "0")
}

// waitForwarding waits until a forwards b's genuine gossip to the
// observer: b deletes an object of its own and publishes the tombstone
// again until the observer has it through a. Until gossip has put the
// observer in a's mesh, a forwards nothing to it, and a test that it
// forwards no junk would prove nothing.
func waitForwarding(t *testing.T, ctx context.Context, a, b *Node, obs *gossipObserver) {
	t.Helper()
	probe, err := b.Add(ctx, object.NewReaderSource("probe.txt", strings.NewReader("b's probe")), AddOptions{Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "a to learn the owner of b's probe", func() bool { return nodeKeys{a}.ObjectOwner(probe.CID) != nil })
	if _, err := b.Delete(ctx, probe.CID); err != nil {
		t.Fatal(err)
	}
	entry := b.del.Entry(probe.CID)
	owner := nodeKeys{b}.ObjectOwner(probe.CID)
	polls := 0
	waitUntil(t, 20*time.Second, "the gossipObserver to get b's probe deletion through a", func() bool {
		if obs.receivedTombstone(probe.CID, owner) {
			return true
		}
		if polls++; polls%50 == 0 { // every half second
			b.publishDeletion(ctx, entry.Owner) // a new message each time
		}
		return false
	})
}

// TestForgedAttestationsAreNotStored: attestations b delivers over the
// attestation stream with a broken signature, or in a's name, are
// refused and never stored.
func TestForgedAttestationsAreNotStored(t *testing.T) {
	ctx := context.Background()
	a, b := federatedPair(t, nil)
	added, err := b.Add(ctx, object.NewReaderSource("mine.txt", strings.NewReader("attested")), AddOptions{Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	obj, bHolder := replication.ObjectID(added.CID), replication.PeerID(b.net.host.ID().String())
	var genuine replication.Attestation
	waitUntil(t, 20*time.Second, "a to hold b's attestation", func() bool {
		var ok bool
		a.repl.Read(func(c *replication.Core) { genuine, ok = c.Ledger().Get(obj, bHolder) })
		return ok
	})
	misSigned := genuine
	misSigned.Seq, misSigned.Target = genuine.Seq+100, 1
	misSigned.Signature = append([]byte(nil), genuine.Signature...)
	inAsName := genuine
	inAsName.Holder, inAsName.Seq = replication.PeerID(a.net.host.ID().String()), genuine.Seq+100
	inAsName.Sign(b.keys.node)
	unsigned := genuine
	unsigned.Seq, unsigned.Signature = genuine.Seq+200, make([]byte, ed25519.SignatureSize)
	forged := []replication.Attestation{misSigned, inAsName, unsigned}
	before := a.rejected.count("attestation")
	s, err := b.net.host.NewStream(ctx, a.net.host.ID(), AttestProtocol)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range forged {
		if err := wire.WriteFrame(s, marshal(t, &f)); err != nil {
			t.Fatal(err)
		}
	}
	s.CloseWrite()
	waitUntil(t, 10*time.Second, "a to refuse the forged attestations", func() bool {
		return a.rejected.count("attestation")-before >= int64(len(forged))
	})
	s.Close()
	for i, f := range forged {
		var got replication.Attestation
		a.repl.Read(func(c *replication.Core) { got, _ = c.Ledger().Get(f.Object, f.Holder) })
		if got.Seq == f.Seq {
			t.Errorf("forged attestation %d applied to a's ledger", i)
		}
		if stored, err := a.disk.meta.Get(ctx, replicas.LedgerKey(f)); err == nil && bytes.Equal(stored, marshal(t, &f)) {
			t.Errorf("forged attestation %d stored by a", i)
		}
	}
}

func hasPeer(ps []peer.ID, p peer.ID) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// TestOwnersRecordSurvivesALostCopy: a challenge that finds the owner's
// own copy broken drops the copy, never the owner's record (its name and
// capability), and a copy fetched back is pinned again.
func TestOwnersRecordSurvivesALostCopy(t *testing.T) {
	ctx := context.Background()
	n := startTestNode(t, "owner")
	added, err := n.Add(ctx, object.NewReaderSource("mine.txt", strings.NewReader("the owner's data")), AddOptions{Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	obj := replication.ObjectID(added.CID)
	n.lostCopy(ctx, obj)
	rec, err := n.disk.index.get(ctx, added.CID)
	if err != nil || rec.Role != RoleOwner {
		t.Fatalf("after a lost copy the owner's record is %+v, %v; want kept as owner", rec, err)
	}
	var held bool
	n.repl.Read(func(c *replication.Core) { held = c.Holds(obj) })
	if held {
		t.Fatal("the broken copy still counts as held")
	}
	n.repinOwn(ctx, obj, 3)
	var pinned bool
	n.repl.Read(func(c *replication.Core) {
		for _, h := range c.Status(obj, time.Now()).Holders {
			pinned = pinned || (h.Local && h.Pinned)
		}
	})
	if !pinned {
		t.Error("the copy fetched back is not pinned on the owner's node")
	}
}

// TestStatementsComeOnlyFromTheirVerifier: b hands a statements it may
// not: one a signed for b relayed back, one with b's name but a signature
// of a's, one b signed for another member, and garbage. a refuses each,
// counted, and keeps counting b's copies on a's own rounds. (With two
// members neither sends the other a statement: a's rounds with b matter
// only to a third; the test signs a's.)
func TestStatementsComeOnlyFromTheirVerifier(t *testing.T) {
	ctx := context.Background()
	a, b := federatedPair(t, nil)
	added, err := a.Add(ctx, object.NewReaderSource("stated.txt", strings.NewReader("vouched for")), AddOptions{Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "a to count b's copy", func() bool {
		v, err := a.Status(ctx, added.CID)
		return err == nil && v.Copies == 2
	})
	aID, bID := replication.PeerID(a.net.host.ID().String()), replication.PeerID(b.net.host.ID().String())
	now := time.UnixMilli(time.Now().UnixMilli()).UTC()
	// A holder neither of them (a is told of no rounds of its own), so
	// that a gets as far as the signature.
	rounds := []replication.RoundPass{{Holder: "not-a-member", PassedAt: now}}
	own := replication.Statement{Verifier: aID, Recipient: bID, Seq: uint64(now.UnixMilli()), IssuedAt: now, Rounds: rounds}
	own.Sign(a.keys.node)
	renamed := own
	// Far above any sequence number b signed itself (its clock in ms),
	// or a would drop the statement as a replay without counting it.
	renamed.Verifier, renamed.Recipient, renamed.Seq = bID, aID, own.Seq+1<<40
	elsewhere := replication.Statement{Verifier: bID, Recipient: "another-member", Seq: own.Seq + 1<<41, IssuedAt: now, Rounds: rounds}
	elsewhere.Sign(b.keys.node)
	junk := [][]byte{marshal(t, &own), marshal(t, &renamed), marshal(t, &elsewhere), []byte("trust me")}
	before := a.rejected.count("statement")
	for _, data := range junk {
		s, err := b.net.host.NewStream(ctx, a.net.host.ID(), StatementProtocol)
		if err != nil {
			t.Fatal(err)
		}
		s.Write(data)
		s.Close()
	}
	waitUntil(t, 10*time.Second, "a to refuse the statements", func() bool {
		return a.rejected.count("statement")-before >= int64(len(junk))
	})
	v, err := a.Status(ctx, added.CID)
	if err != nil || v.Copies != 2 {
		t.Errorf("after the junk statements a counts %d copies (%v), want 2", v.Copies, err)
	}
}
