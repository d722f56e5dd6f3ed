package repo

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cairn-fed/cairn/internal/atomicfile"
)

// Files of the metrics listener (metrics.address).
const (
	// MetricsTokenFile holds the bearer token a scraper sends when
	// metrics.auth is "token". It grants nothing but metrics.
	MetricsTokenFile = "metrics.token"
	// MetricsFile holds the address the running daemon's metrics listener
	// got, as APIFile does for the API.
	MetricsFile = "metrics"
)

// MetricsToken reads the metrics token, creating it first when the file is
// missing: repositories made before metrics.auth existed have none.
func (r *Repo) MetricsToken() (string, error) {
	data, err := os.ReadFile(r.Path(MetricsTokenFile))
	if errors.Is(err, os.ErrNotExist) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("generate metrics token: %w", err)
		}
		data = []byte(hex.EncodeToString(b) + "\n")
		if err := atomicfile.Create(r.Path(MetricsTokenFile), data, 0o600); err != nil && !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("store metrics token: %w", err)
		}
		data, err = os.ReadFile(r.Path(MetricsTokenFile))
	}
	if err != nil {
		return "", fmt.Errorf("read metrics token: %w", err)
	}
	return strings.TrimSpace(string(data)), nil
}

// WriteMetricsAddr records the address the running daemon's metrics
// listener got.
func (r *Repo) WriteMetricsAddr(addr string) error {
	return atomicfile.Write(r.Path(MetricsFile), []byte(addr+"\n"), 0o600)
}

// RemoveMetricsAddr forgets the metrics address when the daemon stops.
func (r *Repo) RemoveMetricsAddr() error {
	if err := os.Remove(r.Path(MetricsFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove metrics address file: %w", err)
	}
	return nil
}
