package node

import (
	"crypto/ed25519"
	"encoding/json"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/catalog"
)

// FuzzCatalogFrame covers the JSON frames of /cairn/catalog/1.0.0 as the
// handler and catalogExchange decode them: a request or reply from a peer
// never panics the decoder or the checks that follow, a head that is kept
// survives re-encoding, and the kept set stays within its bound.
func FuzzCatalogFrame(f *testing.F) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	h := catalog.Head{Seq: 3, Time: now, Sealed: []byte("sealed capability")}
	h.Sign(priv)
	for _, v := range []any{
		catalogRequest{Put: &h},
		catalogRequest{Get: h.Catalog},
		catalogReply{Head: &h},
		catalogReply{Error: "refused"},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"put":{"seq":1},"get":"AA=="}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxCatalogFrame {
			return // wire.ReadFrame refuses it before it is decoded
		}
		var req catalogRequest
		if json.Unmarshal(b, &req) == nil && req.Put != nil && req.Get == nil {
			checkOfferedHead(t, *req.Put, now)
		}
		var reply catalogReply
		if json.Unmarshal(b, &reply) == nil && reply.Head != nil {
			_ = reply.Head.Verify(now)
		}
	})
}

// checkOfferedHead offers h as a published head, and, if it is kept,
// offers it again after a JSON round trip: the same head must come back.
func checkOfferedHead(t *testing.T, h catalog.Head, now time.Time) {
	heads := catalog.NewHeads()
	kept, err := heads.Offer(h, "member", now)
	if err != nil || !kept {
		return
	}
	if heads.Len() != 1 {
		t.Fatalf("one head offered, %d kept", heads.Len())
	}
	b, err := json.Marshal(catalogRequest{Put: &h})
	if err != nil {
		t.Fatal(err)
	}
	var again catalogRequest
	if err := json.Unmarshal(b, &again); err != nil || again.Put == nil {
		t.Fatalf("a kept head does not decode again: %v", err)
	}
	if err := again.Put.Verify(now); err != nil {
		t.Fatalf("a kept head no longer verifies after a round trip: %v", err)
	}
	if again.Put.After(h) || h.After(*again.Put) {
		t.Fatal("a kept head changed in a round trip")
	}
}
