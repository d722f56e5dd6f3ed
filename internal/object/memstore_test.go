package object

import (
	"context"
	"fmt"
	"sync"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// memStore is an in-memory BlockSink and BlockGetter for tests.
type memStore struct {
	mu     sync.Mutex
	blocks map[cid.Cid][]byte // guarded by mu
	puts   int                // guarded by mu
}

var (
	_ BlockSink   = (*memStore)(nil)
	_ BlockGetter = (*memStore)(nil)
)

func newMemStore() *memStore {
	return &memStore{blocks: map[cid.Cid][]byte{}}
}

func (s *memStore) Put(_ context.Context, b blocks.Block) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocks[b.Cid()] = b.RawData()
	s.puts++
	return nil
}

func (s *memStore) Get(_ context.Context, c cid.Cid) (blocks.Block, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.blocks[c]
	if !ok {
		return nil, fmt.Errorf("block %s not found", c)
	}
	return blocks.NewBlockWithCid(data, c)
}

func (s *memStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.blocks)
}

// corrupt flips one byte of the block c.
func (s *memStore) corrupt(c cid.Cid) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data := append([]byte(nil), s.blocks[c]...)
	data[len(data)/2] ^= 0xff
	s.blocks[c] = data
}

// discardSink counts and drops blocks.
type discardSink struct{ n int }

func (d *discardSink) Put(context.Context, blocks.Block) error {
	d.n++
	return nil
}
