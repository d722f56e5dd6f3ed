package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
)

// MonitorBackend answers cairn health and Prometheus scrapes.
type MonitorBackend interface {
	Health(ctx context.Context) (netstat.Health, error)
	MetricsCollector() prometheus.Collector
}

var _ MonitorBackend = (*node.Node)(nil)

// metricsRoutes serves GET /api/v1/health and, for Prometheus, GET
// /metrics: the node's collector plus the Go runtime's and the process's.
// Both sit behind the API token like every other route; a scraper sends
// it with its bearer-token setting.
func (s *Server) metricsRoutes(mux *routes) {
	mb, ok := s.backend.(MonitorBackend)
	if !ok {
		unavailable := func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, http.StatusServiceUnavailable, errors.New("this node reports no health or metrics"))
		}
		mux.HandleFunc("GET /metrics", unavailable)
		mux.HandleFunc("GET /api/v1/health", unavailable)
		return
	}
	mux.Handle("GET /metrics", metricsHandler(mb, s.logger))
	mux.HandleFunc("GET /api/v1/health", func(w http.ResponseWriter, r *http.Request) {
		h, err := mb.Health(r.Context())
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, h)
	})
}

// metricsHandler answers Prometheus scrapes: the node's collector plus the
// Go runtime's and the process's.
func metricsHandler(mb MonitorBackend, logger *slog.Logger) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(mb.MetricsCollector(), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            promLog{logger},
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 2,
		Timeout:             time.Minute,
	})
}

// promLog hands promhttp's error messages to the server's logger.
type promLog struct{ logger *slog.Logger }

func (l promLog) Println(v ...any) {
	if l.logger != nil {
		l.logger.Warn("metrics: " + fmt.Sprint(v...))
	}
}

// Health asks the node how it is doing.
func (c *Client) Health(ctx context.Context) (netstat.Health, error) {
	var h netstat.Health
	return h, c.call(ctx, http.MethodGet, "/api/v1/health", nil, &h)
}
