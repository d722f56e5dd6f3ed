package dashboard

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/cairn-fed/cairn/netstat"
)

// refuseAll stands in for the API: it refuses every request, as the
// API does without a token.
var refuseAll = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusUnauthorized)
})

func get(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Result()
}

func TestServesFilesAndPassesTheRestOn(t *testing.T) {
	h := Handler(refuseAll)
	for _, tc := range []struct {
		method, path string
		status       int
		contentType  string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8"},
		{"HEAD", "/", 200, "text/html; charset=utf-8"},
		{"GET", "/app.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/style.css", 200, "text/css; charset=utf-8"},
		{"GET", "/favicon.svg", 200, "image/svg+xml"},
		{"GET", "/states.json", 200, "application/json"},
		{"GET", "/index.html", 401, ""}, // served as "/" only
		{"POST", "/", 401, ""},
		{"GET", "/api/v1/status", 401, ""},
		{"GET", "/static/app.js", 401, ""},
		{"GET", "/../go.mod", 401, ""},
	} {
		resp := get(t, h, tc.method, tc.path)
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != tc.contentType {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, tc.contentType)
		}
		if tc.status == 200 && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "connect-src 'self'") {
			t.Errorf("%s %s: Content-Security-Policy %q does not keep the page to its own origin", tc.method, tc.path, resp.Header.Get("Content-Security-Policy"))
		}
	}
}

// TestNoExternalNetwork: nothing in the embedded files points at another
// host (the SVG namespace is a name, not a request).
func TestNoExternalNetwork(t *testing.T) {
	external := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	for path, f := range files {
		text := strings.ReplaceAll(string(f.body), `xmlns="http://www.w3.org/2000/svg"`, "")
		if m := external.FindString(text); m != "" {
			t.Errorf("%s refers to another host: %q", path, m)
		}
	}
}

func TestStatesMatchNetstat(t *testing.T) {
	resp := get(t, Handler(refuseAll), "GET", statesPath)
	body, _ := io.ReadAll(resp.Body)
	var got []stateWords
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	want := netstat.States()
	if len(got) != len(want) {
		t.Fatalf("%d states, netstat has %d", len(got), len(want))
	}
	for i, s := range want {
		if got[i].Word != s.String() || got[i].Label != s.Label() || got[i].Colour != s.Colour() || got[i].Symbol != s.Symbol(false) {
			t.Errorf("state %d: %+v, netstat says %s %q %s %s", i, got[i], s, s.Label(), s.Colour(), s.Symbol(false))
		}
	}
}

func TestURLCarriesTheTokenInTheFragment(t *testing.T) {
	got := URL("127.0.0.1:5001", "0123abcd")
	if got != "http://127.0.0.1:5001/#token=0123abcd" {
		t.Errorf("URL = %q", got)
	}
}
