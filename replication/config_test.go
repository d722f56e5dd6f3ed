package replication

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		field  string
	}{
		{"valid", func(*Config) {}, ""},
		{"no key", func(c *Config) { c.Key = nil }, "replication.key"},
		{"no rand", func(c *Config) { c.Rand = nil }, "replication.rand"},
		{"timeout above interval", func(c *Config) { c.ChallengeTimeout = time.Hour }, "replication.challenge_timeout"},
		{"freshness below interval", func(c *Config) { c.ProofFreshness = time.Second }, "replication.proof_freshness"},
		{"no repairs", func(c *Config) { c.MaxConcurrentRepairs = 0 }, "replication.max_concurrent_repairs"},
		{"no default target", func(c *Config) { c.DefaultTarget = 0 }, "replication.default_target"},
		{"default above the cap", func(c *Config) { c.DefaultTarget = c.MaxTarget + 1 }, "replication.default_target"},
		{"no target cap", func(c *Config) { c.MaxTarget = 0 }, "replication.max_target"},
		{"no records per member", func(c *Config) { c.MaxEntriesPerMember = 0 }, "replication.max_entries_per_member"},
		{"no attestation rate", func(c *Config) { c.AttestRate = 0 }, "replication.attest_rate"},
		{"too many leaves", func(c *Config) { c.ChallengeLeaves = 1000 }, "replication.challenge_leaves"},
	}
	for _, tt := range tests {
		cfg := simConfig("x")
		tt.change(&cfg)
		err := cfg.Validate()
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: Validate = %v, want nil", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.field+" ") {
			t.Errorf("%s: Validate = %v, want an error naming %s", tt.name, err, tt.field)
		}
	}
}
