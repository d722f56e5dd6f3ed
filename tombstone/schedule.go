package tombstone

import (
	"sort"
	"time"
)

// PurgeAt returns when object's blocks may be physically removed: the
// earliest issue time among the lanes currently deleting it, plus
// TrashWindow. The object can only come back if every deleting lane is
// restored, so once any deletion has stood for a full window the undo
// period is over. ok is false when the object is not deleted.
func (s *Set) PurgeAt(object string) (at time.Time, ok bool) {
	e := s.objects[object]
	if e == nil {
		return time.Time{}, false
	}
	since, ok := e.deletedSince()
	if !ok {
		return time.Time{}, false
	}
	return since.Add(s.cfg.TrashWindow), true
}

// DuePurges lists, sorted, the deleted objects whose trash window has
// passed at now and whose blocks this node has not yet removed. The node
// removes the blocks no live object still uses (see Refs), calls
// MarkPurged and signs a PhasePurged acknowledgement. It scans every
// entry: call it from a periodic tick.
func (s *Set) DuePurges(now time.Time) []string {
	var out []string
	for obj, e := range s.objects {
		if e.purged {
			continue
		}
		if since, ok := e.deletedSince(); ok && !now.Before(since.Add(s.cfg.TrashWindow)) {
			out = append(out, obj)
		}
	}
	sort.Strings(out)
	return out
}

// MarkPurged records that this node has removed object's blocks, so
// DuePurges stops listing it. The mark is local and never merged; it is
// sticky because the bytes cannot come back (an undelete after the
// purge must be refused with a clear message by the node).
func (s *Set) MarkPurged(object string) {
	if e := s.objects[object]; e != nil {
		e.purged = true
	}
}

// Compact shrinks entries whose newest tombstone was issued at least
// Retention before now: it drops reason texts (keeping their digests, so
// the tombstones still verify) and acknowledgements. It never drops a
// tombstone, so a deleted object still cannot come back. It returns the
// number of entries compacted.
func (s *Set) Compact(now time.Time) int {
	n := 0
	for _, e := range s.objects {
		if e.compacted || now.Sub(e.newestIssued()) < s.cfg.Retention {
			continue
		}
		for i, r := range e.lanes {
			if r != nil {
				e.lanes[i] = r.compacted()
			}
		}
		e.acks, e.compacted = nil, true
		n++
	}
	return n
}

func (e *entry) newestIssued() time.Time {
	var newest time.Time
	for _, r := range e.lanes {
		if r != nil && r.issued().After(newest) {
			newest = r.issued()
		}
	}
	return newest
}

// MustResync reports whether a node last online at lastOnline has been away
// longer than Retention; see Config.MustResync.
func (s *Set) MustResync(lastOnline, now time.Time) bool {
	return s.cfg.MustResync(lastOnline, now)
}
