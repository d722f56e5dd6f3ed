package tombstone

import (
	"maps"
	"slices"
)

// Refs counts which live objects use which blocks, so that purging one
// object frees only the blocks no other live object still needs (objects
// of one owner share chunks when they share content). Keep one Refs per
// owner. Refs is pure and not safe for concurrent use.
type Refs struct {
	blocks  map[string]users    // block -> objects using it
	objects map[string][]string // object -> its blocks
}

// users is the set of objects using one block. Almost every block has a
// single user, kept in place: a node holding a hundred thousand small
// copies would otherwise keep as many maps of one entry each.
type users struct {
	one  string              // the only user, while more is nil
	more map[string]struct{} // every user, once a second one came
}

// NewRefs returns an empty Refs.
func NewRefs() *Refs {
	return &Refs{blocks: map[string]users{}, objects: map[string][]string{}}
}

// Add records that object uses blocks; duplicates are ignored. Adding an
// object again replaces its block list (call Remove first to learn which
// blocks the old list freed).
func (r *Refs) Add(object string, blocks []string) {
	r.Remove(object)
	list := dedupe(blocks)
	r.objects[object] = list
	for _, b := range list {
		u, used := r.blocks[b]
		switch {
		case !used:
			u = users{one: object}
		case u.more == nil && u.one == object:
			continue
		case u.more == nil:
			u = users{more: map[string]struct{}{u.one: {}, object: {}}}
		default:
			u.more[object] = struct{}{}
		}
		r.blocks[b] = u
	}
}

// Remove forgets object and returns, sorted, the blocks that no remaining
// object uses: only those may be deleted from disk.
func (r *Refs) Remove(object string) (freed []string) {
	for _, b := range r.objects[object] {
		u := r.blocks[b]
		if u.more == nil {
			delete(r.blocks, b)
			freed = append(freed, b)
			continue
		}
		delete(u.more, object)
		if len(u.more) == 1 {
			for last := range u.more {
				r.blocks[b] = users{one: last}
			}
		}
	}
	delete(r.objects, object)
	return freed
}

// Users returns, sorted, the objects that use block.
func (r *Refs) Users(block string) []string {
	u, used := r.blocks[block]
	switch {
	case !used:
		return nil
	case u.more == nil:
		return []string{u.one}
	}
	return slices.Sorted(maps.Keys(u.more))
}

// Used reports whether any object uses block.
func (r *Refs) Used(block string) bool {
	_, used := r.blocks[block]
	return used
}

// Blocks returns the blocks recorded for object, as given to Add.
func (r *Refs) Blocks(object string) []string { return r.objects[object] }

// Len returns the number of referenced blocks.
func (r *Refs) Len() int { return len(r.blocks) }
