package pins

import (
	"encoding/json"
	"maps"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// The Pinning Service API listens beyond loopback: its decoders read what
// any holder of a pins token sends.

// FuzzParseFilter: GET /pins's query never panics the parser, and a filter
// it accepts stays within the spec's bounds.
func FuzzParseFilter(f *testing.F) {
	f.Add("cid=bafy1,bafy2&name=photos&match=ipartial&status=queued,pinned&before=2026-03-01T12:00:00Z&limit=50&meta=%7B%22k%22%3A%22v%22%7D")
	f.Add("limit=0")
	f.Add("meta=%5B1%5D")
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		flt, err := parseFilter(q)
		if err != nil {
			return
		}
		switch {
		case flt.Limit < 1 || flt.Limit > maxLimit:
			t.Fatalf("limit %d accepted", flt.Limit)
		case len(flt.CIDs) > maxCIDFilter:
			t.Fatalf("%d CIDs accepted", len(flt.CIDs))
		case len(flt.Statuses) == 0:
			t.Fatal("a filter that matches no status")
		}
		for _, st := range flt.Statuses {
			if _, ok := parseStatus(string(st)); !ok {
				t.Fatalf("status %q accepted", st)
			}
		}
		flt.matches(Request{Created: time.Unix(0, 0)}, Pinned)
	})
}

// FuzzReadPin: a body of POST /pins never panics readPin or Pin.check,
// and a pin that passes check reads back the same from its own JSON.
func FuzzReadPin(f *testing.F) {
	valid, err := json.Marshal(Pin{CID: "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", Name: "photos",
		Origins: []string{"/ip4/192.0.2.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"}, Meta: map[string]string{"app": "x"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(valid))
	f.Add(`{"cid":"","origins":null}`)
	f.Add(`{"cid":"x","meta":{"a":1}}`)
	f.Fuzz(func(t *testing.T, body string) {
		pin, ok := readPin(httptest.NewRecorder(), httptest.NewRequest("POST", "/pins", strings.NewReader(body)))
		if !ok || pin.check() != nil {
			return
		}
		if len(pin.Origins) > maxOrigins || slices.ContainsFunc(pin.Origins, func(o string) bool { return len(o) > maxOriginLen }) {
			t.Fatalf("origins %q accepted", pin.Origins)
		}
		b, err := json.Marshal(pin)
		if err != nil {
			t.Fatal(err)
		}
		again, ok := readPin(httptest.NewRecorder(), httptest.NewRequest("POST", "/pins", strings.NewReader(string(b))))
		if !ok || !samePin(again, pin) {
			t.Fatalf("pin %+v reads back as %+v", pin, again)
		}
	})
}

// samePin compares pins as JSON does: an empty list or map is none.
func samePin(a, b Pin) bool {
	return a.CID == b.CID && a.Name == b.Name && slices.Equal(a.Origins, b.Origins) && maps.Equal(a.Meta, b.Meta)
}
