package config

import (
	"net/netip"
)

// Metrics configures the optional listener that serves only Prometheus
// metrics, so that a scraper outside the machine can reach them without
// reaching the API.
type Metrics struct {
	// Address is HOST:PORT with a numeric IP; empty: no such listener
	// (the API still serves /metrics behind its own token).
	Address string `toml:"address"`
	// Auth is "token" (a bearer token from the repository's metrics.token
	// file) or "none" (anyone who reaches Address may scrape).
	Auth string `toml:"auth"`
}

// Values of metrics.auth.
const (
	MetricsAuthToken = "token"
	MetricsAuthNone  = "none"
)

func (c Config) validateMetrics() error {
	m := c.Metrics
	if m.Auth != MetricsAuthToken && m.Auth != MetricsAuthNone {
		return invalid("metrics.auth", "must be %q or %q, got %q", MetricsAuthToken, MetricsAuthNone, m.Auth)
	}
	if m.Address == "" {
		return nil
	}
	ap, err := netip.ParseAddrPort(m.Address)
	if err != nil {
		return invalid("metrics.address", "%q is not HOST:PORT with a numeric IP (empty: no metrics listener)", m.Address)
	}
	if ap.Port() != 0 && m.Address == c.API.Address {
		return invalid("metrics.address", "%q is api.address too; give the metrics listener a port of its own", m.Address)
	}
	return nil
}
