package eventlog

import (
	"errors"
	"fmt"
)

// Sentinel errors; callers branch on them with errors.Is.
var (
	// ErrCursorAhead reports a cursor past the last stored event: a
	// cursor from the future, or from a log that was reset.
	ErrCursorAhead = errors.New("eventlog: cursor is ahead of the log")
	// ErrCursorExpired reports a cursor older than the oldest kept event;
	// the message names the oldest cursor still available.
	ErrCursorExpired = errors.New("eventlog: cursor expired")
	// ErrSubscriberTooSlow ends a subscription whose buffer overflowed;
	// Follow again from the cursor of the last event received.
	ErrSubscriberTooSlow = errors.New("eventlog: subscriber too slow, resume from its last cursor")
	// ErrClosed reports use of a closed log.
	ErrClosed = errors.New("eventlog: log closed")
	// ErrCorrupt reports a segment that does not read back as written.
	ErrCorrupt = errors.New("eventlog: corrupt segment")
	// ErrEventTooLarge reports an event whose encoding exceeds
	// MaxEventBytes.
	ErrEventTooLarge = errors.New("eventlog: event too large")
)

// MaxEventBytes bounds one event's JSON encoding. Events carry a few
// identifiers and a short detail; the bound keeps a corrupt length field
// from making a reader allocate without limit.
const MaxEventBytes = 64 << 10

// Config tunes a Log. The zero value is invalid; start from DefaultConfig.
type Config struct {
	// SegmentBytes is the size at which the log starts a new segment file.
	// Default 16 MiB, about 50 000 events of 300 bytes: reading from a
	// cursor scans at most one segment's record headers to find its
	// place, and retention frees space in steps of this size.
	SegmentBytes int64

	// MaxBytes is how many bytes of segments retention keeps; older whole
	// segments beyond it are deleted (the last segment never is). 0 keeps
	// everything. Default 1 GiB, a few million events: months of history
	// for a busy federation, so a subscriber that was away for days still
	// resumes without a gap.
	MaxBytes int64

	// SubscriberBuffer is how many events a live subscriber may have
	// received but not yet read before it is ended with
	// ErrSubscriberTooSlow. Default 1024: a burst such as a peer leaving
	// with a thousand copies fits, while one stalled subscriber holds at
	// most about 1024 × 300 bytes.
	SubscriberBuffer int
}

// DefaultConfig returns the configuration documented on each field.
func DefaultConfig() Config {
	return Config{
		SegmentBytes:     16 << 20,
		MaxBytes:         1 << 30,
		SubscriberBuffer: 1024,
	}
}

// Validate reports the first field that is out of range, by name.
func (c Config) Validate() error {
	switch {
	case c.SegmentBytes < 1024 || c.SegmentBytes > 1<<40:
		return fmt.Errorf("eventlog.segment_bytes must be between 1024 and %d, got %d", int64(1)<<40, c.SegmentBytes)
	case c.MaxBytes != 0 && c.MaxBytes < c.SegmentBytes:
		return fmt.Errorf("eventlog.max_bytes must be 0 (keep everything) or at least eventlog.segment_bytes (%d), got %d", c.SegmentBytes, c.MaxBytes)
	case c.SubscriberBuffer < 1 || c.SubscriberBuffer > 1<<20:
		return fmt.Errorf("eventlog.subscriber_buffer must be between 1 and %d, got %d", 1<<20, c.SubscriberBuffer)
	}
	return nil
}
