package replicas

import (
	"sync"

	"github.com/ipfs/go-cid"
)

// Links caches each kept object's distinct blocks in walk order, the list
// challenges index into. An object's list never changes for its CID, so
// an entry is only ever added whole or forgotten.
type Links struct {
	mu    sync.Mutex
	lists map[string][]cid.Cid // by object CID, guarded by mu
}

// Get returns obj's cached block list.
func (l *Links) Get(obj string) ([]cid.Cid, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	blocks, ok := l.lists[obj]
	return blocks, ok
}

// Put caches obj's block list.
func (l *Links) Put(obj string, blocks []cid.Cid) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lists == nil {
		l.lists = map[string][]cid.Cid{}
	}
	l.lists[obj] = blocks
}

// Forget drops obj's block list, once the object is no longer kept.
func (l *Links) Forget(obj string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.lists, obj)
}
