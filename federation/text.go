package federation

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on roster fields, chosen so that a full roster still fits one
// gossip message and one copyable join token.
const (
	// MaxNameLen bounds a federation, operator or region name in bytes.
	MaxNameLen = 64
	// MaxPeerIDLen bounds a peer ID string in bytes; libp2p ed25519 peer IDs
	// are 52 characters.
	MaxPeerIDLen = 128
	// MaxReasonLen bounds a revocation reason in bytes.
	MaxReasonLen = 200
)

// validateName accepts 1..MaxNameLen bytes of printable UTF-8 without
// leading or trailing space, which keeps names readable in listings and
// logs free of control characters.
func validateName(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s is empty: %w", what, ErrInvalid)
	case len(s) > MaxNameLen:
		return fmt.Errorf("%s is longer than %d bytes: %w", what, MaxNameLen, ErrInvalid)
	case !printable(s):
		return fmt.Errorf("%s %q is not printable UTF-8: %w", what, s, ErrInvalid)
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("%s %q has leading or trailing space: %w", what, s, ErrInvalid)
	}
	return nil
}

// validatePeerID accepts 1..MaxPeerIDLen printable ASCII bytes, which
// covers libp2p peer ID strings.
func validatePeerID(s string) error {
	if s == "" || len(s) > MaxPeerIDLen {
		return fmt.Errorf("peer ID of %d bytes (want 1..%d): %w", len(s), MaxPeerIDLen, ErrInvalid)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return fmt.Errorf("peer ID %q has a non-printable byte: %w", s, ErrInvalid)
		}
	}
	return nil
}

func validateReason(s string) error {
	if len(s) > MaxReasonLen || !printable(s) {
		return fmt.Errorf("reason must be printable UTF-8 of at most %d bytes: %w", MaxReasonLen, ErrInvalid)
	}
	return nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}

// validateTime accepts non-zero times that survive the nanosecond
// encoding (years 1678 to 2262).
func validateTime(what string, t time.Time) error {
	if t.IsZero() || t.UnixNano() == 0 || !time.Unix(0, t.UnixNano()).Equal(t) {
		return fmt.Errorf("%s %v cannot be encoded: %w", what, t, ErrInvalid)
	}
	return nil
}

// canonicalTime drops the monotonic reading and location so that a time
// compares equal after an encoding round trip.
func canonicalTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Unix(0, t.UnixNano()).UTC()
}
