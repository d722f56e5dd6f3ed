package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// MetricsServer serves GET /metrics and nothing else, on the listener of
// metrics.address, which may be beyond loopback: a Prometheus server on
// another machine scrapes it without any way into the API. Every other
// path is 404.
type MetricsServer struct {
	srv *http.Server
}

// NewMetricsServer makes a metrics server for backend. A scrape must send
// `Authorization: Bearer token`; an empty token lets anyone scrape (the
// operator's choice: metrics.auth = "none").
func NewMetricsServer(backend MonitorBackend, token string, logger *slog.Logger) *MetricsServer {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", requireToken(token, metricsHandler(backend, logger)))
	mux.Handle("/", http.NotFoundHandler())
	return &MetricsServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute}}
}

// requireToken lets through requests that carry token, or every request
// when token is empty.
func requireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cairn metrics"`)
			writeError(w, http.StatusUnauthorized, errors.New("missing or wrong metrics token: send `Authorization: Bearer <token>` with the token from the repository's metrics.token file"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Serve answers scrapes on l until Shutdown.
func (s *MetricsServer) Serve(l net.Listener) error {
	if err := s.srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: serve: %w", err)
	}
	return nil
}

// Shutdown stops the server, letting scrapes in flight finish until ctx ends.
func (s *MetricsServer) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }
