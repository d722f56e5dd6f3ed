// Package runner is the IO around package mirror: it reads the state at
// the target, lists the owner's objects through the daemon, asks the core
// what to do, streams each object from the daemon into the target and
// writes the state after the put, then follows the daemon's event stream
// and does it again when an object is added, deleted or undeleted, or a
// kept copy falls due. The daemon and the target are interfaces this
// package declares; Daemon is the Source over the daemon's API client
// (daemon.go), and cmd/cairn wires it and a directory or S3 target in.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/cairn-fed/cairn/internal/mirror"
	"github.com/cairn-fed/cairn/netstat"
)

// Target is the user's storage. Keys are plain names (no slashes).
type Target interface {
	// Put stores what r yields at key, atomically: the key holds the
	// whole of it or what it held before, never part of it, also when the
	// process is killed mid-put. It returns the bytes stored.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Remove deletes key; a missing key is not an error.
	Remove(ctx context.Context, key string) error
	// Keys lists every key at the target.
	Keys(ctx context.Context) ([]string, error)
	// ReadState returns the state's bytes, or an error wrapping
	// ErrNoState when there is none.
	ReadState(ctx context.Context) ([]byte, error)
	// WriteState replaces the state atomically.
	WriteState(ctx context.Context, b []byte) error
	// Clean removes what a put cut off by a crash left unfinished (a
	// directory's temporary files, an S3 prefix's incomplete multipart
	// uploads), of objects and the state only. The runner calls it once
	// the target is known to be its mirror, before its first put.
	Clean(ctx context.Context) error
	// String names the target for people.
	String() string
}

// ErrNoState means the target holds no mirror state yet.
var ErrNoState = errors.New("mirror: no state at the target yet")

// Source is the daemon.
type Source interface {
	// NodeID is the daemon's peer ID.
	NodeID(ctx context.Context) (string, error)
	// Live lists the live (not deleted) objects the node's owner owns.
	Live(ctx context.Context) ([]mirror.Object, error)
	// Events reads the event stream after since, calling each for every
	// event; without follow it returns at the end of the stored events.
	// It returns the cursor after the last event read. An unusable
	// cursor (expired, ahead of the log) is an error wrapping ErrCursor.
	Events(ctx context.Context, since string, follow bool, each func(netstat.Event) error) (string, error)
	// Open streams an object in the format asked for.
	Open(ctx context.Context, o mirror.Object, f mirror.Format) (io.ReadCloser, error)
	// CatchingUp reports whether the node, restored from a snapshot, is
	// still learning what its owner did since: its listing may then lack
	// objects that exist.
	CatchingUp(ctx context.Context) (bool, error)
}

// ErrNotEmpty means the target holds files but no mirror state: it is
// not a mirror, and the runner does not write into it unless told to
// adopt it (Config.Adopt).
var ErrNotEmpty = errors.New("mirror: the target holds files and no mirror state")

// ErrCursor means the daemon cannot resume from the mirror's cursor: its
// event log was trimmed past it, or reset (a node restored from a
// snapshot). The runner then starts from the oldest event kept, and the
// full listing each pass makes covers the gap.
var ErrCursor = errors.New("mirror: the daemon cannot resume from this cursor")

// Config is how a Runner runs.
type Config struct {
	Format mirror.Format
	Policy mirror.Policy
	// Follow keeps mirroring until ctx ends; without it Run returns after
	// one pass.
	Follow bool
	// Adopt lets the runner start at a target that holds files but no
	// state (a mirror whose state was lost), taking its CID-named files
	// for the mirror's. Without it such a target is refused: the runner
	// starts only in an empty place or at its own state.
	Adopt bool
	// RetryMax bounds the wait between attempts after a failed pass in
	// Follow mode (the first wait is a second, then it doubles). Default
	// 30 s: a restarted server or daemon is picked up within that.
	RetryMax time.Duration
	// SaveEvery is how often, at most, the state is written while a pass
	// puts objects (always at its end). Default 1 s: a crash repeats at
	// most a second of puts, which overwrite identical bytes.
	SaveEvery time.Duration
	// HoldRecheck is how often a following runner that holds its
	// removals, because the node is catching up after a restore, asks
	// again whether it has (the node sends no event when it has).
	// Default 30 s: a copy removed half a minute late is harmless.
	HoldRecheck time.Duration
	Logger      *slog.Logger
	// Report is told of every put, removal and pass; may be nil.
	Report func(Report)
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Validate names the field that is wrong.
func (c Config) Validate() error {
	switch {
	case c.Format != mirror.FormatCAR && c.Format != mirror.FormatDecrypted:
		return fmt.Errorf("mirror.format %q is not car or tar", c.Format)
	case c.RetryMax < 0 || c.SaveEvery < 0 || c.HoldRecheck < 0:
		return errors.New("mirror.retry_max, mirror.save_every and mirror.hold_recheck must not be negative")
	case c.Logger == nil:
		return errors.New("mirror.logger is required")
	}
	return nil
}

// Report is one line of progress.
type Report struct {
	// Action is "put", "remove", "fail" (one object), "pass", "retry"
	// (after a failed pass), "hold" (the node began catching up: nothing
	// is removed) or "resume" (it has: removals go on).
	Action string `json:"action"`
	CID    string `json:"cid,omitempty"`
	Bytes  int64  `json:"bytes,omitempty"`
	Error  string `json:"error,omitempty"`
	Stats
}

// Stats are the runner's counters since it started, and the mirror's
// size after the last pass.
type Stats struct {
	Put      int64 `json:"objects_put"`
	PutBytes int64 `json:"bytes_put"`
	Removed  int64 `json:"objects_removed"`
	Failed   int64 `json:"objects_failed"` // puts and removals that failed (each is tried again)
	Passes   int64 `json:"passes"`
	Errors   int64 `json:"errors"`
	Present  int64 `json:"objects_present"`
	Deleted  int64 `json:"objects_kept_deleted"` // present, deleted on the node
	LastPass int64 `json:"last_pass_unix,omitempty"`
}

// counters are Stats, updated while a pass runs and read by metrics.
type counters struct {
	put, putBytes, removed, failed, passes, errors, present, deleted, lastPass atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Put: c.put.Load(), PutBytes: c.putBytes.Load(), Removed: c.removed.Load(), Failed: c.failed.Load(),
		Passes: c.passes.Load(), Errors: c.errors.Load(), Present: c.present.Load(),
		Deleted: c.deleted.Load(), LastPass: c.lastPass.Load(),
	}
}
