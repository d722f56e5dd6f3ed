package netstat

import (
	"testing"
	"time"
)

func TestAge(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Hour, "just now"},
		{0, "just now"},
		{4999 * time.Millisecond, "just now"},
		{5 * time.Second, "5 s ago"},
		{12 * time.Second, "12 s ago"},
		{59 * time.Second, "59 s ago"},
		{time.Minute, "1 min ago"},
		{3*time.Minute + 59*time.Second, "3 min ago"},
		{time.Hour, "1 h ago"},
		{47 * time.Hour, "47 h ago"},
		{48 * time.Hour, "2 days ago"},
		{4*24*time.Hour + 5*time.Hour, "4 days ago"},
	}
	for _, tt := range tests {
		if got := Age(tt.d); got != tt.want {
			t.Errorf("Age(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestStamp(t *testing.T) {
	cfg := DefaultConfig()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		at        time.Time
		fresh     Freshness
		ago, want string
	}{
		{time.Time{}, Never, "", "never verified"},
		{now.Add(-12 * time.Second), Fresh, "12 s ago", "verified 12 s ago"},
		{now.Add(-cfg.StaleAfter), Fresh, "6 min ago", "verified 6 min ago"},
		{now.Add(-cfg.StaleAfter - time.Second), Stale, "6 min ago", "verified 6 min ago (stale)"},
		{now.Add(-3 * time.Hour), Stale, "3 h ago", "verified 3 h ago (stale)"},
	}
	for _, tt := range tests {
		s := cfg.Stamp(tt.at, now)
		if s.Freshness != tt.fresh || s.Ago() != tt.ago || s.Label("verified") != tt.want {
			t.Errorf("Stamp(%v) = %s %q %q, want %s %q %q", tt.at, s.Freshness, s.Ago(), s.Label("verified"), tt.fresh, tt.ago, tt.want)
		}
	}
}
