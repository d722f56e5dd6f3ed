package pins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
)

// fakeBackend pins instantly (or fails for CIDs starting with "fail"),
// holds objects in a map and reports them pinned once told.
type fakeBackend struct {
	mu       sync.Mutex
	objects  map[string]bool // object → pinned
	unpinned []string
	block    chan struct{} // when set, Pin waits for it
}

func (f *fakeBackend) CheckCID(c string) error {
	if strings.HasPrefix(c, "bad") {
		return errors.New("not a CID")
	}
	return nil
}

func (f *fakeBackend) Pin(ctx context.Context, c string, _ []string, _ string) (string, bool, error) {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return "", false, ctx.Err()
		}
	}
	if strings.HasPrefix(c, "fail") {
		return "", false, errors.New("no origin provided the DAG")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, existing := f.objects["obj-"+c]
	f.objects["obj-"+c] = true
	return "obj-" + c, existing, nil
}

func (f *fakeBackend) Pinned(_ context.Context, o string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.objects[o]
}

func (f *fakeBackend) Unpin(_ context.Context, o string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.objects, o)
	f.unpinned = append(f.unpinned, o)
	return nil
}

func (f *fakeBackend) Delegates() []string {
	return []string{"/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDelegate"}
}

type fixture struct {
	t       *testing.T
	svc     *Service
	backend *fakeBackend
	ds      datastore.Batching
	srv     *httptest.Server
	tokens  map[string]string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, backend: &fakeBackend{objects: map[string]bool{}}, ds: dssync.MutexWrap(datastore.NewMapDatastore()), tokens: map[string]string{}}
	f.start()
	for _, u := range []string{"alice", "bob"} {
		tok, err := f.svc.CreateToken(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[u] = tok
	}
	return f
}

func (f *fixture) start() {
	svc, err := New(f.ds, f.backend, slog.New(slog.DiscardHandler))
	if err != nil {
		f.t.Fatal(err)
	}
	f.svc = svc
	f.srv = httptest.NewServer(svc.Handler())
	f.t.Cleanup(func() { f.srv.Close(); svc.Close() })
}

// call sends a request as user ("" for no token) and decodes the answer.
func (f *fixture) call(user, method, path string, body any, out any) int {
	f.t.Helper()
	var r io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		r = strings.NewReader(string(data))
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, r)
	if tok, ok := f.tokens[user]; ok {
		req.Header.Set("Authorization", "Bearer "+tok)
	} else if user != "" {
		req.Header.Set("Authorization", "Bearer "+user)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

type failure struct {
	Error struct{ Reason, Details string } `json:"error"`
}

// waitStatus waits until user's request id has status want.
func (f *fixture) waitStatus(user, id string, want Status) pinStatus {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for ; ; <-tick.C {
		var st pinStatus
		f.call(user, "GET", "/pins/"+id, nil, &st)
		if st.Status == want {
			return st
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("request %s is %s, want %s", id, st.Status, want)
		}
	}
}

func TestPinLifecycle(t *testing.T) {
	f := newFixture(t)
	var st pinStatus
	if code := f.call("alice", "POST", "/pins", Pin{CID: "bafyA", Name: "minutes", Meta: map[string]string{"app": "x"}}, &st); code != http.StatusAccepted || st.RequestID == "" || len(st.Delegates) == 0 {
		t.Fatalf("POST /pins = %d %+v", code, st)
	}
	got := f.waitStatus("alice", st.RequestID, Pinned)
	if got.Pin.CID != "bafyA" || got.Pin.Name != "minutes" || got.Info["cairn_object"] != "obj-bafyA" {
		t.Fatalf("GET /pins/id = %+v", got)
	}

	var list pinResults
	f.call("alice", "GET", "/pins", nil, &list) // status defaults to pinned
	if list.Count != 1 || list.Results[0].RequestID != st.RequestID {
		t.Fatalf("GET /pins = %+v", list)
	}

	// Bob sees none of it and can change none of it.
	f.call("bob", "GET", "/pins?status=queued,pinning,pinned,failed", nil, &list)
	if list.Count != 0 {
		t.Fatalf("bob lists alice's pins: %+v", list)
	}
	for _, m := range []string{"GET", "DELETE"} {
		var fl failure
		if code := f.call("bob", m, "/pins/"+st.RequestID, nil, &fl); code != http.StatusNotFound || fl.Error.Reason != "NOT_FOUND" {
			t.Errorf("bob %s alice's pin: %d %+v", m, code, fl)
		}
	}
	if code := f.call("bob", "POST", "/pins/"+st.RequestID, Pin{CID: "bafyEvil"}, nil); code != http.StatusNotFound {
		t.Errorf("bob replaces alice's pin: %d", code)
	}

	// A second request for the same CID keeps the object when the first
	// goes; the last one to go deletes it.
	var second pinStatus
	f.call("alice", "POST", "/pins", Pin{CID: "bafyA"}, &second)
	f.waitStatus("alice", second.RequestID, Pinned)
	if code := f.call("alice", "DELETE", "/pins/"+st.RequestID, nil, nil); code != http.StatusAccepted {
		t.Fatalf("DELETE = %d", code)
	}
	if len(f.backend.unpinned) != 0 {
		t.Fatalf("deleted an object another request keeps: %v", f.backend.unpinned)
	}
	f.call("alice", "DELETE", "/pins/"+second.RequestID, nil, nil)
	if fmt.Sprint(f.backend.unpinned) != "[obj-bafyA]" {
		t.Fatalf("unpinned %v, want the object once", f.backend.unpinned)
	}
	if code := f.call("alice", "GET", "/pins/"+st.RequestID, nil, nil); code != http.StatusNotFound {
		t.Fatalf("a removed request answers %d", code)
	}
}

func TestPinReplaceAndFailure(t *testing.T) {
	f := newFixture(t)
	var st pinStatus
	f.call("alice", "POST", "/pins", Pin{CID: "bafyOld"}, &st)
	f.waitStatus("alice", st.RequestID, Pinned)
	var repl pinStatus
	if code := f.call("alice", "POST", "/pins/"+st.RequestID, Pin{CID: "bafyNew"}, &repl); code != http.StatusAccepted || repl.RequestID == st.RequestID {
		t.Fatalf("replace = %d %+v", code, repl)
	}
	f.waitStatus("alice", repl.RequestID, Pinned)
	if fmt.Sprint(f.backend.unpinned) != "[obj-bafyOld]" {
		t.Fatalf("replace unpinned %v, want the old object", f.backend.unpinned)
	}
	var bad pinStatus
	f.call("alice", "POST", "/pins", Pin{CID: "failing"}, &bad)
	failed := f.waitStatus("alice", bad.RequestID, Failed)
	if !strings.Contains(failed.Info["status_details"], "no origin") {
		t.Fatalf("a failed pin says %+v", failed.Info)
	}
}

// TestOwnersObjectsAreNotTheServices: a pin of a DAG the owner keeps
// already (cairn add, cairn pin) leaves it when the request goes.
func TestOwnersObjectsAreNotTheServices(t *testing.T) {
	f := newFixture(t)
	f.backend.objects["obj-bafyOwners"] = true
	var st pinStatus
	f.call("alice", "POST", "/pins", Pin{CID: "bafyOwners"}, &st)
	f.waitStatus("alice", st.RequestID, Pinned)
	f.call("alice", "DELETE", "/pins/"+st.RequestID, nil, nil)
	if len(f.backend.unpinned) != 0 {
		t.Fatalf("removing a pin deleted the owner's own object: %v", f.backend.unpinned)
	}
}

// TestBadRequests: each gets the spec's error object and changes nothing.
func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	long := strings.Repeat("n", maxNameLen+1)
	cases := []struct {
		name, user, method, path string
		body                     any
		status                   int
		reason                   string
	}{
		{"no token", "", "GET", "/pins", nil, 401, "UNAUTHORIZED"},
		{"a token never made", "cairn-pins-00", "GET", "/pins", nil, 401, "UNAUTHORIZED"},
		{"a bad CID", "alice", "POST", "/pins", Pin{CID: "bad-cid"}, 400, "BAD_REQUEST"},
		{"no CID", "alice", "POST", "/pins", Pin{Name: "x"}, 400, "BAD_REQUEST"},
		{"a long name", "alice", "POST", "/pins", Pin{CID: "bafy", Name: long}, 400, "BAD_REQUEST"},
		{"too many origins", "alice", "POST", "/pins", Pin{CID: "bafy", Origins: make([]string, 21)}, 400, "BAD_REQUEST"},
		{"not JSON", "alice", "POST", "/pins", "just a string", 400, "BAD_REQUEST"},
		{"an unknown request", "alice", "GET", "/pins/0123", nil, 404, "NOT_FOUND"},
		{"an unknown status", "alice", "GET", "/pins?status=lost", nil, 400, "BAD_REQUEST"},
		{"a zero limit", "alice", "GET", "/pins?limit=0", nil, 400, "BAD_REQUEST"},
		{"eleven CIDs", "alice", "GET", "/pins?cid=" + strings.Repeat("a,", 10) + "a", nil, 400, "BAD_REQUEST"},
		{"a bad time", "alice", "GET", "/pins?before=yesterday", nil, 400, "BAD_REQUEST"},
		{"bad meta", "alice", "GET", "/pins?meta=" + url.QueryEscape("[1]"), nil, 400, "BAD_REQUEST"},
		{"another path", "alice", "GET", "/api/v1/id", nil, 404, "NOT_FOUND"},
	}
	for _, c := range cases {
		var fl failure
		if code := f.call(c.user, c.method, c.path, c.body, &fl); code != c.status || fl.Error.Reason != c.reason || fl.Error.Details == "" {
			t.Errorf("%s: %d %+v, want %d %s with details", c.name, code, fl, c.status, c.reason)
		}
	}
	var list pinResults
	f.call("alice", "GET", "/pins?status=queued,pinning,pinned,failed", nil, &list)
	if list.Count != 0 {
		t.Fatalf("bad requests left pins: %+v", list)
	}
}

// TestRequestsSurviveARestart: queued and interrupted requests are
// fetched again after a restart; tokens still work.
func TestRequestsSurviveARestart(t *testing.T) {
	f := newFixture(t)
	f.backend.block = make(chan struct{})
	var st pinStatus
	f.call("alice", "POST", "/pins", Pin{CID: "bafySlow"}, &st)
	f.waitStatus("alice", st.RequestID, Pinning)
	f.srv.Close()
	f.svc.Close()
	f.backend.block = nil
	f.start()
	f.waitStatus("alice", st.RequestID, Pinned)
}

func TestFilters(t *testing.T) {
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var rs []Request
	for i, name := range []string{"Minutes 2019", "minutes 2020", "scans", "photos"} {
		rs = append(rs, Request{ID: fmt.Sprint(i), Pin: Pin{CID: fmt.Sprint("c", i), Name: name, Meta: map[string]string{"year": fmt.Sprint(2019 + i)}}, Created: base.Add(time.Duration(i) * time.Hour), Status: Pinned})
	}
	all := []Status{Queued, Pinning, Pinned, Failed}
	status := func(r Request) Status { return r.Status }
	for _, c := range []struct {
		name string
		f    Filter
		want string
	}{
		{"newest first, limited", Filter{Statuses: all, Limit: 2}, "[3 2] of 4"},
		{"exact name", Filter{Statuses: all, Limit: 10, Name: "scans"}, "[2] of 1"},
		{"iexact", Filter{Statuses: all, Limit: 10, Name: "MINUTES 2020", Match: "iexact"}, "[1] of 1"},
		{"partial is case sensitive", Filter{Statuses: all, Limit: 10, Name: "inutes", Match: "partial"}, "[1 0] of 2"},
		{"ipartial", Filter{Statuses: all, Limit: 10, Name: "MINUTES", Match: "ipartial"}, "[1 0] of 2"},
		{"cids", Filter{Statuses: all, Limit: 10, CIDs: []string{"c0", "c3"}}, "[3 0] of 2"},
		{"before and after", Filter{Statuses: all, Limit: 10, After: base, Before: base.Add(3 * time.Hour)}, "[2 1] of 2"},
		{"meta", Filter{Statuses: all, Limit: 10, Meta: map[string]string{"year": "2021"}}, "[2] of 1"},
		{"status", Filter{Statuses: []Status{Failed}, Limit: 10}, "[] of 0"},
	} {
		out, _, count := page(rs, status, c.f)
		var ids []string
		for _, r := range out {
			ids = append(ids, r.ID)
		}
		if got := fmt.Sprintf("[%s] of %d", strings.Join(ids, " "), count); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// TestPendingRequestsAreBounded: one user cannot queue without end; the
// others still can.
func TestPendingRequestsAreBounded(t *testing.T) {
	f := newFixture(t)
	f.backend.block = make(chan struct{})
	defer close(f.backend.block)
	ctx := context.Background()
	for i := range maxPending {
		if _, err := f.svc.Add(ctx, "alice", Pin{CID: fmt.Sprint("bafy", i)}); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	var fl failure
	if code := f.call("alice", "POST", "/pins", Pin{CID: "bafyOneMore"}, &fl); code != http.StatusTooManyRequests || fl.Error.Reason != "TOO_MANY_PENDING_REQUESTS" {
		t.Fatalf("request past the bound: %d %+v", code, fl)
	}
	if code := f.call("bob", "POST", "/pins", Pin{CID: "bafyBob"}, nil); code != http.StatusAccepted {
		t.Fatalf("another user's request: %d", code)
	}
}

// TestReplaceKeepsTheObjectOfTheSameCID: a replacement that renames a pin
// does not delete and fetch its DAG anew.
func TestReplaceKeepsTheObjectOfTheSameCID(t *testing.T) {
	f := newFixture(t)
	var st pinStatus
	f.call("alice", "POST", "/pins", Pin{CID: "bafySame", Name: "old"}, &st)
	f.waitStatus("alice", st.RequestID, Pinned)
	var repl pinStatus
	f.call("alice", "POST", "/pins/"+st.RequestID, Pin{CID: "bafySame", Name: "new"}, &repl)
	if got := f.waitStatus("alice", repl.RequestID, Pinned); got.Pin.Name != "new" {
		t.Fatalf("replaced pin: %+v", got)
	}
	if len(f.backend.unpinned) != 0 {
		t.Fatalf("a rename deleted the object: %v", f.backend.unpinned)
	}
}

// TestRemovalsOfOneObjectRace: alice and bob pin one CID and remove their
// requests at once; the object is deleted once, by whichever is last.
func TestRemovalsOfOneObjectRace(t *testing.T) {
	for range 20 {
		f := newFixture(t)
		var a, b pinStatus
		f.call("alice", "POST", "/pins", Pin{CID: "bafyShared"}, &a)
		f.waitStatus("alice", a.RequestID, Pinned)
		f.call("bob", "POST", "/pins", Pin{CID: "bafyShared"}, &b)
		f.waitStatus("bob", b.RequestID, Pinned)
		var wg sync.WaitGroup
		wg.Go(func() { f.call("alice", "DELETE", "/pins/"+a.RequestID, nil, nil) })
		wg.Go(func() { f.call("bob", "DELETE", "/pins/"+b.RequestID, nil, nil) })
		wg.Wait()
		if fmt.Sprint(f.backend.unpinned) != "[obj-bafyShared]" {
			t.Fatalf("after both removals, unpinned %v; want the object once", f.backend.unpinned)
		}
	}
}

// TestLongOriginsAreRefused: origins are multiaddrs, not megabytes.
func TestLongOriginsAreRefused(t *testing.T) {
	f := newFixture(t)
	var fl failure
	if code := f.call("alice", "POST", "/pins", Pin{CID: "bafy", Origins: []string{strings.Repeat("x", maxOriginLen+1)}}, &fl); code != http.StatusBadRequest {
		t.Fatalf("a %d-byte origin: %d %+v", maxOriginLen+1, code, fl)
	}
}
