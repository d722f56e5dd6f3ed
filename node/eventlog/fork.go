package eventlog

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/cairn-fed/cairn/internal/atomicfile"
)

// Forks. A node restored from a snapshot has its log up to the snapshot's
// event, and the node it was taken from may have recorded more events
// after that one before it was lost, under sequences the restored node
// would otherwise hand out again: a reader holding such a cursor would go
// on in the new history as if it were the old one, missing events. So a
// restored log goes on after a gap of ForkGap sequences, more than any
// node records, and the gap is kept in ForksFile. Reading after a cursor
// in the gap, or at its start, goes on with the first event after it:
// what the restored node recorded since, which includes what it learned
// again of what was lost.

// ForkGap is how many sequences a restored log skips at least; it skips up
// to twice as many, at random, so that two restores of one snapshot (the
// first lost too) do not number their events alike.
const ForkGap = 1 << 40

// ForksFile, in the log's directory, lists its forks; a copy of the log
// carries it beside the segments.
const ForksFile = "forks.json"

// fork is one gap: no event has a sequence after After and before Resume.
type fork struct {
	After  uint64 `json:"after"`
	Resume uint64 `json:"resume"`
}

// Fork prepares the log in dir, a copy of a log up to event after, to go
// on after a gap when it is opened.
func Fork(dir string, after uint64) error {
	forks, err := readForks(dir)
	if err != nil {
		return err
	}
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return fmt.Errorf("fork event log: %w", err)
	}
	resume := after + ForkGap + 1 + binary.BigEndian.Uint64(r[:])%ForkGap
	if resume < after {
		return fmt.Errorf("fork event log %s after event %d: no sequences are left after it", dir, after)
	}
	if n := len(forks); n > 0 && after+1 < forks[n-1].Resume {
		return fmt.Errorf("fork event log %s after event %d: it goes on from %d already", dir, after, forks[n-1].Resume)
	}
	data, err := json.Marshal(append(forks, fork{After: after, Resume: resume}))
	if err != nil {
		return fmt.Errorf("fork event log: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("fork event log: %w", err)
	}
	f, err := createSegment(dir, resume)
	if err != nil {
		return fmt.Errorf("fork event log: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("fork event log: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, ForksFile), data, 0o600); err != nil {
		return fmt.Errorf("fork event log: %w", err)
	}
	return nil
}

// Forks returns the content of the log's ForksFile, nil when it has none.
func (l *Log) Forks() ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(l.dir, ForksFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the event log's forks: %w", err)
	}
	return data, nil
}

func readForks(dir string) ([]fork, error) {
	data, err := os.ReadFile(filepath.Join(dir, ForksFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the event log's forks: %w", err)
	}
	var forks []fork
	if err := json.Unmarshal(data, &forks); err != nil {
		return nil, fmt.Errorf("%w: forks file: %v", ErrCorrupt, err)
	}
	ordered := slices.IsSortedFunc(forks, func(a, b fork) int { return compareSeq(a.After, b.After) })
	for _, f := range forks {
		if f.Resume <= f.After || !ordered {
			return nil, fmt.Errorf("%w: forks file: gap %d..%d", ErrCorrupt, f.After, f.Resume)
		}
	}
	return forks, nil
}

// skipGap returns next, or the first sequence after the gaps it falls
// in: a log restored again before it recorded anything has a gap that
// starts where the previous one ends.
func skipGap(forks []fork, next uint64) uint64 {
	for _, f := range forks { // oldest first
		if next > f.After && next < f.Resume {
			next = f.Resume
		}
	}
	return next
}
