package tombstone

import (
	"fmt"
	"time"
)

// Config holds the tunables of a Set. Every field must be set; start from
// DefaultConfig.
type Config struct {
	// TrashWindow is how long a deleted object's blocks are kept so that
	// an undelete can still restore it. Default 24 h, as promised to users;
	// tests use seconds.
	TrashWindow time.Duration
	// Retention is how long full tombstones (reason, acknowledgements) are
	// kept before Compact shrinks them. It must be at least the federation's
	// maximum offline period: a node away for longer must resynchronise
	// (MustResync). Default 30 days, a generous holiday for a home server.
	Retention time.Duration
	// AckTimeout is how long a holder may take to acknowledge a deletion
	// before Laggards flags it as ignoring tombstones. Default 1 h: gossip
	// reaches an online holder in seconds, so an hour means it is offline
	// or misbehaving.
	AckTimeout time.Duration
	// MaxClockSkew is how far in the future a signed timestamp may lie
	// before the message is rejected. Default 5 min, a loose NTP bound.
	MaxClockSkew time.Duration
	// MaxVersionJump is how far a version may lie ahead of the newest one
	// known for the same object and kind. Versions grow by one per
	// delete or undelete, so 2^20 (about a million) is never reached
	// honestly; it stops a key holder from pinning a lane near 2^64.
	MaxVersionJump uint64
}

// DefaultConfig returns the production defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		TrashWindow:    24 * time.Hour,
		Retention:      30 * 24 * time.Hour,
		AckTimeout:     time.Hour,
		MaxClockSkew:   5 * time.Minute,
		MaxVersionJump: 1 << 20,
	}
}

// Validate reports the first field that is out of range, by name.
func (c Config) Validate() error {
	switch {
	case c.TrashWindow <= 0:
		return invalid("trash_window", "must be positive")
	case c.Retention < c.TrashWindow:
		return invalid("retention", "must be at least trash_window")
	case c.AckTimeout <= 0:
		return invalid("ack_timeout", "must be positive")
	case c.MaxClockSkew < 0:
		return invalid("max_clock_skew", "must not be negative")
	case c.MaxVersionJump == 0:
		return invalid("max_version_jump", "must be positive")
	}
	return nil
}

// MustResync reports whether a node last online at lastOnline has been away
// longer than Retention and must resynchronise its tombstones (a full
// anti-entropy exchange) before it serves or announces anything.
func (c Config) MustResync(lastOnline, now time.Time) bool {
	return now.Sub(lastOnline) > c.Retention
}

func invalid(field, why string) error {
	return fmt.Errorf("tombstone.%s %s: %w", field, why, ErrInvalidConfig)
}
