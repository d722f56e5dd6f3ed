package api_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/api"
)

// gaugeBackend reports one gauge and no health.
type gaugeBackend struct{ g prometheus.Gauge }

func (b gaugeBackend) Health(context.Context) (netstat.Health, error) { return netstat.Health{}, nil }
func (b gaugeBackend) MetricsCollector() prometheus.Collector         { return b.g }

func metricsServer(t *testing.T, token string) string {
	t.Helper()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "cairn_test_gauge", Help: "a test gauge"})
	g.Set(7)
	srv := api.NewMetricsServer(gaugeBackend{g}, token, slog.New(slog.DiscardHandler))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return l.Addr().String()
}

func fetch(t *testing.T, method, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestMetricsServerServesOnlyMetrics: the metrics listener answers GET
// /metrics with its token, refuses it without, and 404s every path of the
// API, with the token or the API's, so nothing but metrics leaks past it.
func TestMetricsServerServesOnlyMetrics(t *testing.T) {
	const token = "metrics-token-0123456789abcdef0123456789abcdef"
	addr := metricsServer(t, token)
	code, body := fetch(t, http.MethodGet, "http://"+addr+"/metrics", token)
	if code != http.StatusOK || !strings.Contains(body, "cairn_test_gauge 7") || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("GET /metrics with the token: %d\n%s", code, body)
	}
	for _, tok := range []string{"", "wrong", testToken} {
		if code, _ := fetch(t, http.MethodGet, "http://"+addr+"/metrics", tok); code != http.StatusUnauthorized {
			t.Errorf("GET /metrics with token %q: %d, want 401", tok, code)
		}
	}
	for _, path := range []string{"/", "/api/v1/id", "/api/v1/health", "/debug/pprof/", "/metrics/x", "/index.html"} {
		for _, tok := range []string{token, testToken} {
			if code, _ := fetch(t, http.MethodGet, "http://"+addr+path, tok); code != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, code)
			}
		}
	}
	if code, _ := fetch(t, http.MethodPost, "http://"+addr+"/metrics", token); code != http.StatusNotFound {
		t.Errorf("POST /metrics: %d, want 404", code)
	}
}

// TestMetricsServerWithoutToken: with metrics.auth = "none" anyone who
// reaches the address scrapes, and still gets nothing else.
func TestMetricsServerWithoutToken(t *testing.T) {
	addr := metricsServer(t, "")
	if code, body := fetch(t, http.MethodGet, "http://"+addr+"/metrics", ""); code != http.StatusOK || !strings.Contains(body, "cairn_test_gauge 7") {
		t.Fatalf("GET /metrics: %d\n%s", code, body)
	}
	if code, _ := fetch(t, http.MethodGet, "http://"+addr+"/api/v1/id", ""); code != http.StatusNotFound {
		t.Errorf("GET /api/v1/id: %d, want 404", code)
	}
}
