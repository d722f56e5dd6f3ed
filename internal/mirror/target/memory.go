package target

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"

	"github.com/cairn-fed/cairn/internal/mirror"
	"github.com/cairn-fed/cairn/internal/mirror/runner"
)

// Memory is a target in memory, for tests of what uses a target. A put
// that fails reading stores nothing.
type Memory struct {
	mu   sync.Mutex
	objs map[string][]byte // guarded by mu; the state under mirror.StateKey
	puts map[string]int    // guarded by mu; puts by key
	fail error             // guarded by mu; returned by every call when set
}

// NewMemory returns an empty in-memory target.
func NewMemory() *Memory { return &Memory{objs: map[string][]byte{}, puts: map[string]int{}} }

func (m *Memory) String() string { return "memory" }

func (m *Memory) check() error {
	return m.fail
}

// Put stores the object once r ended cleanly.
func (m *Memory) Put(_ context.Context, key string, r io.Reader) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return int64(len(b)), fmt.Errorf("put %s: %w", key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return 0, err
	}
	m.objs[key] = b
	m.puts[key]++
	return int64(len(b)), nil
}

// Remove deletes key.
func (m *Memory) Remove(_ context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return err
	}
	delete(m.objs, key)
	return nil
}

// Keys lists the keys, the state's too.
func (m *Memory) Keys(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(m.objs)), nil
}

// ReadState returns the state.
func (m *Memory) ReadState(ctx context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return nil, err
	}
	b, ok := m.objs[mirror.StateKey]
	if !ok {
		return nil, runner.ErrNoState
	}
	return bytes.Clone(b), nil
}

// WriteState replaces the state.
func (m *Memory) WriteState(ctx context.Context, b []byte) error {
	_, err := m.Put(ctx, mirror.StateKey, bytes.NewReader(b))
	return err
}

// Clean has nothing to do: a put in memory is never left unfinished.
func (m *Memory) Clean(context.Context) error { return nil }

// Get returns a copy of what key holds.
func (m *Memory) Get(key string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[key]
	return bytes.Clone(b), ok
}

// Puts returns how many times key was put.
func (m *Memory) Puts(key string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.puts[key]
}

// errFailing is what SetFail tests use.
var errFailing = errors.New("target: failing on purpose")

// SetFail makes every later call fail (on true) or succeed again.
func (m *Memory) SetFail(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = nil
	if on {
		m.fail = errFailing
	}
}
