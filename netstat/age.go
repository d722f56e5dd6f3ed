package netstat

import (
	"fmt"
	"time"
)

// justNow is the age below which Age says "just now".
const justNow = 5 * time.Second

// Age renders an elapsed time for people: "just now" (under 5 s, or
// negative from clock skew), "12 s ago", "3 min ago", "2 h ago" (up to
// 48 h), "4 days ago".
func Age(d time.Duration) string {
	switch {
	case d < justNow:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", d/time.Second)
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", d/time.Minute)
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", d/time.Hour)
	}
	return fmt.Sprintf("%d days ago", d/(24*time.Hour))
}

// Freshness says whether a piece of information is recent enough to be
// shown plainly.
type Freshness uint8

// Freshness values.
const (
	Never Freshness = iota // there is no such information (zero time)
	Fresh                  // younger than Config.StaleAfter
	Stale                  // older: shown marked "(stale)"
)

// String returns "never", "fresh" or "stale".
func (f Freshness) String() string {
	return [...]string{"never", "fresh", "stale", "unknown"}[min(f, 3)]
}

// Stamp is a time shown to people together with how old it is.
type Stamp struct {
	At        time.Time
	Age       time.Duration
	Freshness Freshness
}

// Stamp judges the time at as seen at now.
func (c Config) Stamp(at, now time.Time) Stamp {
	if at.IsZero() {
		return Stamp{Freshness: Never}
	}
	s := Stamp{At: at, Age: now.Sub(at), Freshness: Fresh}
	if s.Age > c.StaleAfter {
		s.Freshness = Stale
	}
	return s
}

// Ago renders the age alone ("3 min ago"), or "" when there is no time.
func (s Stamp) Ago() string {
	if s.Freshness == Never {
		return ""
	}
	return Age(s.Age)
}

// Label renders "<verb> 3 min ago", "<verb> 3 h ago (stale)" or
// "never <verb>", for example with verb "verified".
func (s Stamp) Label(verb string) string {
	switch s.Freshness {
	case Never:
		return "never " + verb
	case Stale:
		return verb + " " + Age(s.Age) + " (stale)"
	}
	return verb + " " + Age(s.Age)
}
