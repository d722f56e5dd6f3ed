package node

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/replication"
)

// TestHolderProofHostile: a holder that answers a drill's proof with a
// wrong digest, another challenge's ID, two answers, a refusal or garbage
// fails the proof; one that resets the stream gives no answer, which
// says nothing about its copy; an honest one passes.
func TestHolderProofHostile(t *testing.T) {
	ctx := context.Background()
	a, b := federatedPair(t, nil)
	added, err := a.Add(ctx, object.NewReaderSource("proved.txt", bytes.NewReader(bytes.Repeat([]byte("proved "), 200000))), AddOptions{Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "b's copy to count", func() bool {
		v, err := a.Status(ctx, added.CID)
		return err == nil && v.State == netstat.StateBackedUp
	})
	root := cid.MustParse(added.CID)
	links, err := a.objectLinks(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	leaves := proofLeaves(len(links))
	holder := replication.PeerID(b.net.host.ID().String())
	prove := func() (string, bool) { return a.proveHolder(ctx, root, holder, leaves) }
	if result, failed := prove(); result != proofOK || failed {
		t.Fatalf("an honest holder's proof: %q, failed %v", result, failed)
	}

	// answer replaces b's challenge handler with one that answers as told.
	answer := func(respond func(ch replication.Challenge) []byte) {
		b.net.host.SetStreamHandler(ChallengeProtocol, func(s network.Stream) {
			data, _ := io.ReadAll(io.LimitReader(s, maxChallengeBytes))
			ch, err := replication.DecodeChallenge(data)
			out := respond(ch)
			if err != nil || out == nil {
				s.Reset()
				return
			}
			s.Write(out)
			s.Close()
		})
	}
	encode := func(r replication.Response) []byte {
		data, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	for _, c := range []struct {
		name    string
		respond func(ch replication.Challenge) []byte
		failed  bool
		says    string
	}{
		{"wrong digest", func(ch replication.Challenge) []byte {
			return encode(replication.Response{ID: ch.ID, Answers: []replication.Answer{{Digest: [32]byte{1}}}})
		}, true, "does not match"},
		{"another challenge's answer", func(ch replication.Challenge) []byte {
			return encode(replication.Response{ID: ch.ID + 1, Answers: []replication.Answer{{Digest: [32]byte{1}}}})
		}, true, "malformed"},
		{"two answers", func(ch replication.Challenge) []byte {
			return encode(replication.Response{ID: ch.ID, Answers: []replication.Answer{{Refused: true}, {Refused: true}}})
		}, true, "malformed"},
		{"refused", func(ch replication.Challenge) []byte {
			return encode(replication.Response{ID: ch.ID, Answers: []replication.Answer{{Refused: true}}})
		}, true, "cannot read"},
		{"garbage", func(replication.Challenge) []byte { return []byte("garbage") }, true, "malformed"},
		{"reset", func(replication.Challenge) []byte { return nil }, false, "no answer"},
	} {
		answer(c.respond)
		result, failed := prove()
		if failed != c.failed || !strings.Contains(result, c.says) {
			t.Errorf("%s: %q, failed %v; want failed %v saying %q", c.name, result, failed, c.failed, c.says)
		}
	}
}
