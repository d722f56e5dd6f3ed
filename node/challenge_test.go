package node

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/node/repo"
	"github.com/cairn-fed/cairn/replication"
)

// forgery is one way a lying holder answers a challenge it cannot or will
// not answer honestly.
type forgery struct {
	name   string
	answer func(ch replication.Challenge, replay []byte) []byte
}

var forgeries = []forgery{
	{"a random digest", func(ch replication.Challenge, _ []byte) []byte {
		r := replication.Response{ID: ch.ID, Answers: make([]replication.Answer, len(ch.Items))}
		for i := range r.Answers {
			rand.Read(r.Answers[i].Digest[:])
		}
		out, _ := r.MarshalBinary()
		return out
	}},
	{"an earlier answer replayed", func(ch replication.Challenge, replay []byte) []byte { return replay }},
	{"the digest of zeroed blocks", func(ch replication.Challenge, _ []byte) []byte {
		r := replication.Response{ID: ch.ID, Answers: make([]replication.Answer, len(ch.Items))}
		for i, it := range ch.Items {
			zeros := make([][]byte, len(it.Leaves))
			for i := range zeros {
				zeros[i] = make([]byte, 1<<10)
			}
			r.Answers[i].Digest = replication.Digest(ch.Nonce, zeros)
		}
		out, _ := r.MarshalBinary()
		return out
	}},
	{"another challenge's ID", func(ch replication.Challenge, _ []byte) []byte {
		r := replication.Response{ID: ch.ID + 1, Answers: make([]replication.Answer, len(ch.Items))}
		out, _ := r.MarshalBinary()
		return out
	}},
	{"too few answers", func(ch replication.Challenge, _ []byte) []byte {
		r := replication.Response{ID: ch.ID, Answers: make([]replication.Answer, max(1, len(ch.Items)-1))}
		out, _ := r.MarshalBinary()
		return out
	}},
	{"garbage", func(replication.Challenge, []byte) []byte { return []byte("trust me") }},
}

// TestLyingHolderIsNeverCounted: a member claims a copy it does not hold
// (it attests an object it never fetched) and answers every challenge
// with a forgery: random digests, replayed answers, digests over made-up
// data, answers to other challenges, garbage. Its claim never counts, the
// challenger records why, and its real copy of another object stops
// counting too once it lies about that.
func TestLyingHolderIsNeverCounted(t *testing.T) {
	ctx := context.Background()
	fast := func(r *repo.Repo) {
		r.Config.Replication.ChallengeInterval.Duration = 500 * time.Millisecond
		r.Config.Replication.ChallengeTimeout.Duration = 500 * time.Millisecond
		r.Config.Replication.ProofFreshness.Duration = 2 * time.Second
	}
	a, b := federatedPairWith(t, nil, fast)
	held, err := a.Add(ctx, object.NewReaderSource("held.txt", strings.NewReader(strings.Repeat("kept by both ", 1000))), AddOptions{Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := a.Add(ctx, object.NewReaderSource("claimed.txt", strings.NewReader(strings.Repeat("kept by a only ", 1000))), AddOptions{Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	bID := b.net.host.ID().String()
	stateOfB := func(cid string) string {
		v, err := a.Status(ctx, cid)
		if err != nil {
			return ""
		}
		for _, h := range v.Holders {
			if h.PeerID == bID {
				return h.State
			}
		}
		return ""
	}
	waitUntil(t, 20*time.Second, "b's honest copy to be verified", func() bool { return stateOfB(held.CID) == "verified" })

	// From now on b lies: every challenge gets the next forgery.
	var mu sync.Mutex
	answered := map[string]int{}
	var replay []byte // the latest well-formed answer sent
	b.net.host.SetStreamHandler(ChallengeProtocol, func(s network.Stream) {
		defer s.Close()
		data, err := io.ReadAll(io.LimitReader(s, maxChallengeBytes+1))
		ch, derr := replication.DecodeChallenge(data)
		if err != nil || derr != nil {
			s.Reset()
			return
		}
		mu.Lock()
		total := 0
		for _, n := range answered {
			total += n
		}
		f := forgeries[total%len(forgeries)]
		answered[f.name]++
		out := f.answer(ch, replay)
		if _, err := replication.DecodeResponse(out); err == nil {
			replay = out // a well-formed answer to this challenge, to replay against a later one
		}
		mu.Unlock()
		s.Write(out)
	})
	// ... and it claims a copy of an object it never fetched.
	links, err := a.objectLinks(ctx, mustCID(t, claimed.CID))
	if err != nil {
		t.Fatal(err)
	}
	b.repl.Do(func(c *replication.Core) {
		if err := c.Track(replication.ObjectID(claimed.CID), replication.TrackOptions{Target: 1, Leaves: len(links)}, time.Now()); err != nil {
			t.Fatal(err)
		}
	})

	counted := 0
	waitUntil(t, 60*time.Second, "b to answer every kind of forgery three times", func() bool {
		if stateOfB(claimed.CID) == "verified" {
			counted++
		}
		mu.Lock()
		defer mu.Unlock()
		for _, f := range forgeries {
			if answered[f.name] < 3 {
				return false
			}
		}
		return true
	})
	waitUntil(t, 10*time.Second, "b's lies about its real copy to stop it counting", func() bool { return stateOfB(held.CID) == "failed" })
	if got := stateOfB(claimed.CID); got != "failed" {
		t.Errorf("a records b's false claim as %q; want failed", got)
	}
	if counted > 0 {
		t.Errorf("a counted b's false claim as verified in %d polls", counted)
	}
	v, err := a.Status(ctx, claimed.CID)
	if err != nil || v.Copies != 1 {
		t.Errorf("copies of the claimed object: %d (%v); want 1, a's own", v.Copies, err)
	}
	mu.Lock()
	total := 0
	for _, n := range answered {
		total += n
	}
	mu.Unlock()
	faultRow(t, fmt.Sprintf("a member that claims a copy it does not hold and forges its challenge answers (%d answers of %d kinds): polls where its claim counted, its real copy still counted", total, len(forgeries)),
		fmt.Sprintf("%d, no", counted), "0, no")
}

func mustCID(t *testing.T, s string) cid.Cid {
	t.Helper()
	c, err := cid.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
