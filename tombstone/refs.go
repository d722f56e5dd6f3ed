package tombstone

import "sort"

// Refs counts which live objects use which blocks, so that purging one
// object frees only the blocks no other live object still needs (objects
// of one owner share chunks when they share content). Keep one Refs per
// owner. Refs is pure and not safe for concurrent use.
type Refs struct {
	blocks  map[string]map[string]struct{} // block -> objects using it
	objects map[string][]string            // object -> its blocks
}

// NewRefs returns an empty Refs.
func NewRefs() *Refs {
	return &Refs{blocks: map[string]map[string]struct{}{}, objects: map[string][]string{}}
}

// Add records that object uses blocks; duplicates are ignored. Adding an
// object again replaces its block list (call Remove first to learn which
// blocks the old list freed).
func (r *Refs) Add(object string, blocks []string) {
	r.Remove(object)
	list := dedupe(blocks)
	r.objects[object] = list
	for _, b := range list {
		users := r.blocks[b]
		if users == nil {
			users = map[string]struct{}{}
			r.blocks[b] = users
		}
		users[object] = struct{}{}
	}
}

// Remove forgets object and returns, sorted, the blocks that no remaining
// object uses: only those may be deleted from disk.
func (r *Refs) Remove(object string) (freed []string) {
	for _, b := range r.objects[object] {
		users := r.blocks[b]
		delete(users, object)
		if len(users) == 0 {
			delete(r.blocks, b)
			freed = append(freed, b)
		}
	}
	delete(r.objects, object)
	return freed
}

// Users returns, sorted, the objects that use block.
func (r *Refs) Users(block string) []string {
	out := make([]string, 0, len(r.blocks[block]))
	for obj := range r.blocks[block] {
		out = append(out, obj)
	}
	sort.Strings(out)
	return out
}

// Blocks returns the blocks recorded for object, as given to Add.
func (r *Refs) Blocks(object string) []string { return r.objects[object] }

// Len returns the number of referenced blocks.
func (r *Refs) Len() int { return len(r.blocks) }
