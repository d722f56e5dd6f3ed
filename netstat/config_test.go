package netstat

import (
	"errors"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v, want nil", err)
	}
	tests := []struct {
		field  string
		mutate func(*Config)
	}{
		{"stale_after", func(c *Config) { c.StaleAfter = 0 }},
		{"at_risk_grace", func(c *Config) { c.AtRiskGrace = -1 }},
		{"flag_after_failures", func(c *Config) { c.FlagAfterFailures = 0 }},
		{"max_page_size", func(c *Config) { c.MaxPageSize = 0 }},
		{"default_page_size", func(c *Config) { c.DefaultPageSize = c.MaxPageSize + 1 }},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.mutate(&c)
		err := c.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "netstat."+tt.field) {
			t.Errorf("Validate with bad %s = %v, want ErrInvalidConfig naming it", tt.field, err)
		}
		if _, err := NewViewer(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewViewer with bad %s = %v, want ErrInvalidConfig", tt.field, err)
		}
	}
}
