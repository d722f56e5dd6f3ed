package mirror

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-fed/cairn/netstat"
)

// Object is one live object of the node's owner, as the daemon lists it.
type Object struct {
	CID        string
	Name       string
	Capability string // opens a decrypted copy
	Size       int64  // plaintext bytes, for progress
}

// PolicyMode says what happens to the copy of an object the node deleted.
type PolicyMode uint8

// Policy modes.
const (
	Keep   PolicyMode = iota // the copy stays (the manifest marks it deleted)
	Delete                   // the copy is removed at once
	After                    // the copy is removed once Policy.After has passed
)

// Policy is --on-delete.
type Policy struct {
	Mode  PolicyMode
	After time.Duration // After only
}

// ParsePolicy reads keep, delete or after=DURATION, where DURATION is Go's
// (90m, 12h), a whole number of days (30d), or days and then Go's (1d12h).
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "keep":
		return Policy{Mode: Keep}, nil
	case "delete":
		return Policy{Mode: Delete}, nil
	}
	d, ok := strings.CutPrefix(s, "after=")
	if !ok {
		return Policy{}, fmt.Errorf("--on-delete %q: want keep, delete or after=DURATION (for example after=30d)", s)
	}
	dur, err := parseDays(d)
	if err != nil || dur <= 0 {
		return Policy{}, fmt.Errorf("--on-delete %q: %q is not a positive duration such as 30d, 12h or 1d12h (or 36h); at most %d days", s, d, maxDays)
	}
	return Policy{Mode: After, After: dur}, nil
}

// maxDays bounds after=: a century, well within a time.Duration.
const maxDays = 100 * 365

// parseDays reads [Nd][Go duration], not empty.
func parseDays(s string) (time.Duration, error) {
	days, rest, ok := strings.Cut(s, "d")
	if !ok {
		return time.ParseDuration(s)
	}
	n, err := strconv.Atoi(days)
	if err != nil || n < 0 || n > maxDays || strings.HasPrefix(days, "+") {
		return 0, fmt.Errorf("bad days %q", days)
	}
	d := time.Duration(n) * 24 * time.Hour
	if rest == "" {
		return d, nil
	}
	r, err := time.ParseDuration(rest)
	if err != nil || r < 0 || r > maxDays*24*time.Hour {
		return 0, fmt.Errorf("bad duration after the days %q", rest)
	}
	return d + r, nil
}

// String is the flag's form.
func (p Policy) String() string {
	switch p.Mode {
	case Delete:
		return "delete"
	case After:
		if p.After%(24*time.Hour) == 0 {
			return fmt.Sprintf("after=%dd", p.After/(24*time.Hour))
		}
		return "after=" + p.After.String()
	}
	return "keep"
}

// removeAt is when the copy of an object deleted at t goes; nil: never.
func (p Policy) removeAt(t time.Time) *time.Time {
	switch p.Mode {
	case Delete:
		return &t
	case After:
		at := t.Add(p.After)
		return &at
	}
	return nil
}

// Input is what one pass decides from.
type Input struct {
	Live []Object // every live object the owner owns
	// Present are the keys of objects at the target; nil when the pass
	// did not list the target (the state is then trusted).
	Present []string
	Policy  Policy
	Now     time.Time
	// Hold is set while the node, restored from a snapshot, is catching
	// up with the federation: its listing may lack objects that exist,
	// so no object is taken for deleted and no copy is removed.
	Hold bool
}

// Plan is what one pass does, in order: put, then remove.
type Plan struct {
	Put    []Object // objects to copy to the target, by CID
	Remove []string // object IDs whose copies to remove, by CID
}

// Decide compares the state with the node and the target, marks in s the
// objects the node deleted (and clears the mark of any it undeleted), and
// returns what to put and what to remove. A key at the target the state
// does not know (a put whose state write a crash cut off) is adopted:
// put again when live, else treated as deleted now; only keys named
// CID.car (CID.tar) for a valid CID are, so no other file is touched. A
// live object whose ID is not a valid CID is left out: it has no key.
func Decide(s *State, in Input) Plan {
	live := make(map[string]Object, len(in.Live))
	for _, o := range in.Live {
		if ValidCID(o.CID) {
			live[o.CID] = o
		}
	}
	present, listed := presentSet(in.Present, s.Format), in.Present != nil
	for cid := range present {
		if _, known := s.Objects[cid]; !known {
			if _, ok := live[cid]; !ok {
				s.Objects[cid] = Entry{Key: Key(cid, s.Format), PutAt: in.Now}
			}
		}
	}
	var p Plan
	for cid, o := range live {
		e, known := s.Objects[cid]
		if !known || (listed && !present[cid]) {
			p.Put = append(p.Put, o)
			continue
		}
		e.DeletedAt, e.RemoveAt = nil, nil
		s.Objects[cid] = e
	}
	for cid, e := range s.Objects {
		if _, ok := live[cid]; ok {
			continue
		}
		if listed && !present[cid] { // gone from both: nothing to keep track of
			delete(s.Objects, cid)
			continue
		}
		if in.Hold {
			continue
		}
		if e.DeletedAt == nil {
			e.DeletedAt = &in.Now
		}
		e.RemoveAt = in.Policy.removeAt(*e.DeletedAt)
		s.Objects[cid] = e
		if e.RemoveAt != nil && !e.RemoveAt.After(in.Now) {
			p.Remove = append(p.Remove, cid)
		}
	}
	slices.SortFunc(p.Put, func(a, b Object) int { return strings.Compare(a.CID, b.CID) })
	slices.Sort(p.Remove)
	return p
}

func presentSet(keys []string, f Format) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		if cid, ok := ObjectOf(k, f); ok {
			m[cid] = true
		}
	}
	return m
}

// Put records that o's copy of n bytes is at the target.
func (s *State) Put(o Object, n int64, now time.Time) {
	s.Objects[o.CID] = Entry{Key: Key(o.CID, s.Format), Name: o.Name, Bytes: n, PutAt: now}
}

// Removed records that cid's copy is gone from the target.
func (s *State) Removed(cid string) { delete(s.Objects, cid) }

// NextRemoval is the earliest time a kept copy of a deleted object is due
// to go, and false when none is.
func (s *State) NextRemoval() (time.Time, bool) {
	var next time.Time
	for _, e := range s.Objects {
		if e.RemoveAt != nil && (next.IsZero() || e.RemoveAt.Before(next)) {
			next = *e.RemoveAt
		}
	}
	return next, !next.IsZero()
}

// Counts are the objects present and, of them, deleted on the node.
func (s *State) Counts() (present, deleted int) {
	for _, e := range s.Objects {
		present++
		if e.DeletedAt != nil {
			deleted++
		}
	}
	return present, deleted
}

// Relevant reports whether an event may change what the mirror holds:
// an object added, deleted or undeleted. Other events (copies, peers)
// do not; the runner skips them.
func Relevant(ev netstat.Event) bool {
	switch ev.Type {
	case netstat.EventObjectAdded, netstat.EventTombstoneApplied:
		return true
	case netstat.EventStateChanged:
		return deletionState(ev.From) || deletionState(ev.To)
	}
	return false
}

func deletionState(s netstat.State) bool {
	return s == netstat.StateDeleting || s == netstat.StateDeleted
}
