package tombstone

// Blocks is what a node keeps of the blocks of its objects: which objects
// use each block (Refs), and which blocks it must not serve, those whose
// every user is deleted. A block two objects share stays served while
// either is live; deleting one hides nothing the other needs. Blocks are
// named by a key the caller chooses, one per block however a DAG links it
// (a node uses the multihash: CIDv0 and CIDv1 of one block are one key).
// Blocks is pure and not safe for concurrent use.
type Blocks struct {
	refs   *Refs
	hidden map[string]struct{}
}

// NewBlocks returns an empty Blocks.
func NewBlocks() *Blocks {
	return &Blocks{refs: NewRefs(), hidden: map[string]struct{}{}}
}

// Note records that object uses keys. A live object's blocks are served,
// even those a deleted object shares; a deleted object's hide nothing
// until Rehide.
func (b *Blocks) Note(object string, keys []string, deleted bool) {
	b.refs.Add(object, keys)
	if !deleted {
		for _, k := range keys {
			delete(b.hidden, k)
		}
	}
}

// Rehide recomputes which of object's blocks are hidden: those whose
// every user is deleted, as isDeleted tells.
func (b *Blocks) Rehide(object string, isDeleted func(object string) bool) {
	for _, k := range b.refs.Blocks(object) {
		live := false
		for _, user := range b.refs.Users(k) {
			if !isDeleted(user) {
				live = true
				break
			}
		}
		if live {
			delete(b.hidden, k)
		} else {
			b.hidden[k] = struct{}{}
		}
	}
}

// Hidden reports whether key must not be served.
func (b *Blocks) Hidden(key string) bool {
	_, h := b.hidden[key]
	return h
}

// Used reports whether an object kept here uses key.
func (b *Blocks) Used(key string) bool { return b.refs.Used(key) }

// Remove forgets object and returns, sorted, the keys of the blocks no
// other object uses, which may be deleted from disk.
func (b *Blocks) Remove(object string) (freed []string) {
	return b.refs.Remove(object)
}

// Forget drops what is known of a block deleted from disk.
func (b *Blocks) Forget(key string) { delete(b.hidden, key) }
