package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Entry is what the catalog remembers of one object its owner added.
type Entry struct {
	Object     string `json:"cid"`
	Name       string `json:"name,omitempty"`
	Capability string `json:"capability"`
	// Root is the object's raw root block: with it a new node holding the
	// owner's key can sign for the object (delete, undelete, change its
	// target) before it fetches anything, even while the object is in the
	// trash and no member serves its blocks.
	Root      []byte    `json:"root,omitempty"`
	Target    int       `json:"target"`
	Encrypted bool      `json:"encrypted"`
	Size      int64     `json:"size"`
	AddedAt   time.Time `json:"added_at"`
	// DeletedAt is when the owner deleted the object (it is in the trash
	// and can be undeleted until it is purged); nil while it is live.
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
}

// Equal reports whether two entries say the same.
func (e Entry) Equal(o Entry) bool {
	return e.Object == o.Object && e.Name == o.Name && e.Capability == o.Capability &&
		bytes.Equal(e.Root, o.Root) && e.Target == o.Target && e.Encrypted == o.Encrypted &&
		e.Size == o.Size && e.AddedAt.Equal(o.AddedAt) && equalTimes(e.DeletedAt, o.DeletedAt)
}

func equalTimes(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// Change is one step of the catalog's history.
type Change struct {
	At time.Time `json:"at"`
	// Put adds an entry or replaces the entry of the same object.
	Put *Entry `json:"put,omitempty"`
	// Forget removes an object whose blocks were purged after deletion.
	Forget string `json:"forget,omitempty"`
}

// Listing is the catalog's state: the entries by object ID.
type Listing map[string]Entry

// ErrMalformed means a version or change breaks the catalog's rules.
var ErrMalformed = errors.New("catalog: malformed")

// Apply carries out one change.
func (l Listing) Apply(c Change) error {
	switch {
	case c.Put != nil && c.Forget == "":
		if c.Put.Object == "" {
			return fmt.Errorf("%w: an entry without an object ID", ErrMalformed)
		}
		l[c.Put.Object] = *c.Put
	case c.Put == nil && c.Forget != "":
		delete(l, c.Forget)
	default:
		return fmt.Errorf("%w: a change must put one entry or forget one object", ErrMalformed)
	}
	return nil
}

// Diff returns the changes that turn l into next, stamped at, in object
// order so the same listings always give the same changes.
func (l Listing) Diff(next Listing, at time.Time) []Change {
	var out []Change
	for _, id := range slices.Sorted(maps.Keys(next)) {
		if old, ok := l[id]; !ok || !old.Equal(next[id]) {
			e := next[id]
			out = append(out, Change{At: at, Put: &e})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(l)) {
		if _, ok := next[id]; !ok {
			out = append(out, Change{At: at, Forget: id})
		}
	}
	return out
}

// Entries returns the listing's entries in object order.
func (l Listing) Entries() []Entry {
	out := make([]Entry, 0, len(l))
	for _, id := range slices.Sorted(maps.Keys(l)) {
		out = append(out, l[id])
	}
	return out
}

// Clone returns a copy of l that shares no map with it.
func (l Listing) Clone() Listing { return maps.Clone(l) }
