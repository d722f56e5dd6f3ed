package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/internal/wire"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/replication"
	"github.com/cairn-fed/cairn/tombstone"
)

// What the hostile member learns from honest members and the messages it
// crafts and sends them: attestations, challenges, tombstones over gossip
// and over the tombstone-sync stream.

// learned waits until an honest attestation of obj that names its owner
// reached M, and returns it: M learns the owner's policy (with the root
// block, so the owner key) and the block count from it, as any member in
// the object's audience does.
func (a *attacker) learned(obj string) replication.Attestation {
	a.t.Helper()
	var att replication.Attestation
	waitFor(a.t, 20*time.Second, "an honest attestation of the object to reach M", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		att = a.heard[replication.ObjectID(obj)]
		return att.Policy != nil
	})
	return att
}

// ownerOf reads the owner key the object ID commits to from the root
// block an honest attestation's policy carries.
func ownerOf(t *testing.T, att replication.Attestation) ed25519.PublicKey {
	t.Helper()
	root, err := cid.Decode(string(att.Object))
	if err != nil {
		t.Fatal(err)
	}
	owner, err := object.BoundOwner(root, att.Policy.Root)
	if err != nil {
		t.Fatalf("owner of %s: %v", att.Object, err)
	}
	return owner
}

// forgedPolicy is M's claim to own the object of att: the honest root
// block with M's key spliced in where the owner's was, and a target of
// 255, signed by M.
func (a *attacker) forgedPolicy(t *testing.T, att replication.Attestation) *replication.Policy {
	t.Helper()
	owner := ownerOf(t, att)
	p := *att.Policy
	p.Root = bytes.Replace(bytes.Clone(p.Root), owner, a.pub(), 1)
	p.Version, p.Target = p.Version+1, 255
	p.Sign(a.key)
	return &p
}

// attestation returns a signed attestation by M that it holds obj, with
// the given block count and target, changed by edit before signing.
func (a *attacker) attestation(obj string, leaves, target int, edit func(*replication.Attestation)) replication.Attestation {
	a.mu.Lock()
	a.seq++
	seq := a.seq
	a.mu.Unlock()
	att := replication.Attestation{Object: replication.ObjectID(obj), Holder: replication.PeerID(a.id().String()),
		Seq: seq, IssuedAt: time.Now(), Held: true, Target: target, Leaves: leaves}
	if edit != nil {
		edit(&att)
	}
	att.Sign(a.key)
	return att
}

// attest delivers attestations to n over /cairn/attest as a holder does,
// and reports an error when n does not confirm them all (a reset).
func (a *attacker) attest(n *fedNode, atts ...replication.Attestation) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := a.host.NewStream(ctx, mustPeer(a.t, n.id.PeerID), node.AttestProtocol)
	if err != nil {
		return fmt.Errorf("open attest stream: %w", err)
	}
	defer s.Close()
	s.SetDeadline(time.Now().Add(60 * time.Second))
	w := bufio.NewWriter(s)
	for _, att := range atts {
		data, err := att.MarshalBinary()
		if err != nil {
			return fmt.Errorf("encode attestation: %w", err)
		}
		if err := wire.WriteFrame(w, data); err != nil {
			return fmt.Errorf("write attestation: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("flush attestations: %w", err)
	}
	if err := s.CloseWrite(); err != nil {
		return fmt.Errorf("close attest stream: %w", err)
	}
	if _, err := io.Copy(io.Discard, s); err != nil {
		return fmt.Errorf("attestations not confirmed: %w", err)
	}
	return nil
}

// challenge sends n a round of one item and returns its answer; an error
// means n answered nothing (it reset the stream).
func (a *attacker) challenge(n *fedNode, obj string, leaves []int) (replication.Answer, error) {
	ch := replication.Challenge{Items: []replication.Item{{Object: replication.ObjectID(obj), Leaves: leaves}},
		IssuedAt: time.Now(), Deadline: time.Now().Add(5 * time.Second)}
	var id [8]byte
	rand.Read(id[:])
	rand.Read(ch.Nonce[:])
	ch.ID = replication.ChallengeID(binary.BigEndian.Uint64(id[:]))
	data, err := ch.MarshalBinary()
	if err != nil {
		return replication.Answer{}, fmt.Errorf("encode challenge: %w", err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), ch.Deadline)
	defer cancel()
	s, err := a.host.NewStream(ctx, mustPeer(a.t, n.id.PeerID), node.ChallengeProtocol)
	if err != nil {
		return replication.Answer{}, fmt.Errorf("open challenge stream: %w", err)
	}
	defer s.Close()
	s.SetDeadline(ch.Deadline)
	if _, err := s.Write(data); err != nil {
		return replication.Answer{}, fmt.Errorf("write challenge: %w", err)
	}
	if err := s.CloseWrite(); err != nil {
		return replication.Answer{}, fmt.Errorf("close challenge stream: %w", err)
	}
	answer, err := io.ReadAll(io.LimitReader(s, 256))
	if err != nil {
		return replication.Answer{}, fmt.Errorf("read answer: %w", err)
	}
	if len(answer) == 0 {
		return replication.Answer{}, errors.New("no answer")
	}
	resp, err := replication.DecodeResponse(answer)
	if err != nil {
		return replication.Answer{}, err
	}
	if resp.ID != ch.ID || len(resp.Answers) != 1 {
		return replication.Answer{}, fmt.Errorf("answer to another challenge, or %d answers to one item", len(resp.Answers))
	}
	return resp.Answers[0], nil
}

// publish gossips raw message bytes on the tombstone topic to every
// subscribed peer M is connected to.
func (a *attacker) publish(msgs ...[]byte) {
	a.t.Helper()
	a.mu.Lock()
	topic := a.topic
	a.mu.Unlock()
	for _, m := range msgs {
		if err := topic.Publish(context.Background(), m); err != nil {
			a.t.Fatalf("M publishes on the tombstone topic: %v", err)
		}
	}
}

// serveOnSync sets the frames M answers tombstone pulls with.
func (a *attacker) serveOnSync(msgs ...[]byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.serve = msgs
}

// pulled returns how many tombstone pulls n made from M.
func (a *attacker) pulled(n *fedNode) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pulls[mustPeer(a.t, n.id.PeerID)]
}

// pushBySync makes each node pull M's served frames: M reconnects, and an
// honest node pulls tombstones from every member that connects.
func (a *attacker) pushBySync(ns ...*fedNode) {
	a.t.Helper()
	for _, n := range ns {
		before := a.pulled(n)
		a.reconnect(n)
		waitFor(a.t, 20*time.Second, "the honest node to pull tombstones from M", func() bool { return a.pulled(n) > before })
	}
}

// heardTombstone waits until M heard, on gossip, a tombstone of obj that
// deletes it, and returns it.
func (a *attacker) heardTombstone(obj string) tombstone.Tombstone {
	a.t.Helper()
	var found tombstone.Tombstone
	waitFor(a.t, 20*time.Second, "M to hear the owner's tombstone on gossip", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, t := range a.gossip {
			if t.Object == obj && t.Deleted {
				found = t
				return true
			}
		}
		return false
	})
	return found
}

// marshal encodes a tombstone or acknowledgement, failing the test on error.
func marshal(t testing.TB, m interface{ MarshalBinary() ([]byte, error) }) []byte {
	t.Helper()
	data, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return data
}
