package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestHostHeaderIsChecked: a request naming any host but loopback (what a
// DNS-rebound web page sends) is refused before the token or the dashboard
// are looked at; loopback literals and localhost pass on to them.
func TestHostHeaderIsChecked(t *testing.T) {
	_, _, addr, _ := eventServer(t, 16)
	_, port, _ := strings.Cut(addr, ":")
	for _, tc := range []struct {
		host, path string
		want       int
	}{
		{"evil.example:" + port, "/", http.StatusMisdirectedRequest},
		{"evil.example", "/api/v1/id", http.StatusMisdirectedRequest},
		{"127.0.0.1.evil.example:" + port, "/api/v1/id", http.StatusMisdirectedRequest},
		{"localhost.evil.example", "/api/v1/id", http.StatusMisdirectedRequest},
		{"10.0.0.1:" + port, "/api/v1/id", http.StatusMisdirectedRequest},
		{"[fe80::1%25eth0]:" + port, "/api/v1/id", http.StatusMisdirectedRequest},
		{addr, "/", http.StatusOK},                    // the dashboard, as the browser test opens it
		{addr, "/api/v1/id", http.StatusUnauthorized}, // on to the token check
		{"localhost:" + port, "/api/v1/id", http.StatusUnauthorized},
		{"LOCALHOST", "/api/v1/id", http.StatusUnauthorized},
		{"127.0.0.2:" + port, "/api/v1/id", http.StatusUnauthorized},
		{"[::1]:" + port, "/api/v1/id", http.StatusUnauthorized},
	} {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tc.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("Host %q %s: status %d, want %d (%s)", tc.host, tc.path, resp.StatusCode, tc.want, body)
		}
		if tc.want == http.StatusMisdirectedRequest && !strings.Contains(string(body), "DNS rebinding") {
			t.Errorf("Host %q: body %q does not say why it was refused", tc.host, body)
		}
	}
}
