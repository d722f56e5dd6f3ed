package netstat

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors; every error this package returns wraps one of them.
var (
	// ErrInvalidConfig reports a Config field out of range.
	ErrInvalidConfig = errors.New("netstat: invalid config")
	// ErrNotFound reports an object the ledger and the tombstones know
	// nothing about.
	ErrNotFound = errors.New("netstat: object not found")
	// ErrUnknownState reports a state word outside the vocabulary.
	ErrUnknownState = errors.New("netstat: unknown state")
	// ErrMalformedCursor reports an event or page cursor that is not one
	// this package produced.
	ErrMalformedCursor = errors.New("netstat: malformed cursor")
)

// Config tunes how states, ages and health are judged. Start from
// DefaultConfig.
type Config struct {
	// StaleAfter is the age past which information is shown as stale
	// ("verified 3 h ago (stale)"). Default 6 min: twice replication's
	// default ProofFreshness (3 min), so one late challenge round does not
	// look stale but a holder nobody has checked for two rounds does.
	StaleAfter time.Duration
	// AtRiskGrace is how long a new object may stay below its target as
	// "replicating" before it is "at risk" (default 1 min). Replication
	// repairs after 5 s and replicates 256 MiB in about 3 s; a minute
	// leaves room for slow links without hiding a real problem for long.
	AtRiskGrace time.Duration
	// FlagAfterFailures is how many consecutive failed challenges flag a
	// peer in node health (default 2: one failure can be a network blip,
	// replication already stops counting the copy at the first).
	FlagAfterFailures int
	// DefaultPageSize is the dashboard overview's page size when the
	// request gives none (default 50 rows, one screen).
	DefaultPageSize int
	// MaxPageSize caps a requested page size (default 1000), which keeps
	// one page's work at O(objects × log MaxPageSize).
	MaxPageSize int
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		StaleAfter:        6 * time.Minute,
		AtRiskGrace:       time.Minute,
		FlagAfterFailures: 2,
		DefaultPageSize:   50,
		MaxPageSize:       1000,
	}
}

// Validate reports the first field that is out of range.
func (c Config) Validate() error {
	checks := []struct {
		bad   bool
		field string
	}{
		{c.StaleAfter <= 0, "stale_after"},
		{c.AtRiskGrace < 0, "at_risk_grace"},
		{c.FlagAfterFailures < 1, "flag_after_failures"},
		{c.MaxPageSize < 1, "max_page_size"},
		{c.DefaultPageSize < 1 || c.DefaultPageSize > c.MaxPageSize, "default_page_size"},
	}
	for _, ch := range checks {
		if ch.bad {
			return fmt.Errorf("%w: netstat.%s is invalid", ErrInvalidConfig, ch.field)
		}
	}
	return nil
}
