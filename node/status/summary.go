// Package status owns the overview of every object this node knows of,
// for `cairn status` and the dashboard: the summary a pass keeps of each
// object, the rows and tally made from them, and the cache of the latest
// pass with its lock. Making a pass reads the replication core, the index
// and the deletions; that is the node's wiring, which hands the pass's
// summaries to this package.
//
// Lock order: Cache's mu is a leaf lock, never held while a pass is made
// or while calling a function passed in. Its sortMu is taken before the
// replication core's lock: Sorted holds it across the read of the core it
// is given, so that two callers do not sort the same set twice.
package status

import (
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/replication"
)

// Object is one row of `cairn status` without an argument, and of the
// dashboard's overview.
type Object struct {
	CID    string        `json:"cid"`
	State  netstat.State `json:"state"`
	Copies int           `json:"copies"`
	Target int           `json:"target"`
	Name   string        `json:"name,omitempty"` // owned objects only
	// Regions counts distinct regions among verified copies.
	Regions int `json:"regions"`
	// SafeOffline: a verified copy lives on a node other than the owner's.
	SafeOffline bool `json:"safe_offline"`
	// VerifiedAt is the oldest verification among the counted remote
	// copies, and Verified says it for people ("verified 3 min ago", with
	// " (stale)" when old); both absent when no remote copy counts.
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
	Verified   string     `json:"verified,omitempty"`
	Stale      bool       `json:"stale"`
}

// Overview is the answer to `cairn status`: a tally and one row per
// object this node knows of, or one page of rows.
type Overview struct {
	Tally   netstat.Tally `json:"tally"`
	Summary string        `json:"summary"`
	Objects []Object      `json:"objects"`
	// Next asks for the following page; "" on the last page and in the
	// unpaged listing.
	Next netstat.PageCursor `json:"next"`
	// SafeOffline: every live object this node owns has a verified copy
	// on another node, so this node may go offline. NotSafeOffline counts
	// the owned objects that have none yet.
	SafeOffline    bool `json:"safe_offline"`
	NotSafeOffline int  `json:"not_safe_offline"`
	// AsOf is when the tally was counted. A page's rows are read when it
	// is served; over many objects the tally may be a few seconds older.
	AsOf time.Time `json:"as_of"`
}

// Summary is what a pass keeps of one object: its row and the few facts
// the overview and the listing add to it.
type Summary struct {
	Row        netstat.Row
	VerifiedAt int64 // unix ms of the oldest verified remote copy; 0 when none
	Regions    int32
	Safe       bool // a verified copy lives on a node other than the owner's
	OwnedHere  bool // this node is the object's owner
	Indexed    bool // the object is in this node's index (it added or fetched it)
	// HeldSince is when this node first kept its copy (unix ms; 0 when it
	// holds none): the object's age here, without reading the index.
	HeldSince int64
	// Young is the state the object would have within the grace (see
	// netstat.Config.AtRiskGrace); its age matters when it differs.
	Young netstat.State
}

// facts are what the state derives from, as netstat.Viewer.Facts reads
// them from a full status, for an object taken as past the grace.
func facts(o replication.Overview) netstat.Facts {
	return netstat.Facts{Target: o.Target, Copies: o.Copies, OwnerHolds: o.OwnerClaims, OthersHold: o.OthersClaim,
		Pending: o.Pending, EverFull: !o.LastFullyReplicatedAt.IsZero(), PastGrace: true}
}

// SummaryOf derives one object's summary, taking it as past the grace,
// and notes the state it would have within the grace.
func SummaryOf(o replication.Overview) Summary {
	f := facts(o)
	s := Summary{Row: netstat.Row{ID: string(o.Object), State: f.State(), Copies: o.Copies, Target: o.Target},
		Regions: int32(o.Regions), Safe: o.SafeOffline, OwnedHere: o.OwnedHere}
	f.PastGrace = false
	s.Young = f.State()
	if !o.OldestVerified.IsZero() {
		s.VerifiedAt = o.OldestVerified.UnixMilli()
	}
	if !o.HeldSince.IsZero() {
		s.HeldSince = o.HeldSince.UnixMilli()
	}
	return s
}

// Merge merges two lists in CID order into a new one; on equal CIDs a's
// summary comes first.
func Merge(a, b []Summary) []Summary {
	out := make([]Summary, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		if len(b) == 0 || (len(a) > 0 && a[0].Row.ID <= b[0].Row.ID) {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return out
}

// OverviewOf tallies sums as of at, without rows.
func OverviewOf(sums []Summary, at time.Time) Overview {
	tally, notSafe := count(sums)
	return overviewOf(tally, notSafe, at)
}

// count tallies the states and the live objects owned here that have no
// verified copy on another node.
func count(sums []Summary) (tally netstat.Tally, notSafeOffline int) {
	for _, o := range sums {
		tally.Add(o.Row.State)
		if o.OwnedHere && !o.Safe && o.Row.State != netstat.StateDeleting && o.Row.State != netstat.StateDeleted {
			notSafeOffline++
		}
	}
	return tally, notSafeOffline
}

func overviewOf(tally netstat.Tally, notSafeOffline int, at time.Time) Overview {
	return Overview{Tally: tally, Summary: tally.String(), SafeOffline: notSafeOffline == 0,
		NotSafeOffline: notSafeOffline, AsOf: at}
}

// Rows turns summaries into rows of the full listing. Over a million
// rows the verification ages are few distinct words, so it renders each
// once, and it keeps the rows' verification times in one slice.
type Rows struct {
	cfg    netstat.Config
	now    time.Time
	times  []time.Time         // by row
	labels map[labelKey]string // rendered ages
}

// labelKey identifies a rendered age: netstat.Age renders whole seconds.
type labelKey struct {
	secs  int64
	stale bool
}

// NewRows makes n rows as of now, rendering ages as cfg says.
func NewRows(cfg netstat.Config, now time.Time, n int) *Rows {
	return &Rows{cfg: cfg, now: now, times: make([]time.Time, n), labels: map[labelKey]string{}}
}

// Object returns row i, for summary s of an object named name.
func (m *Rows) Object(s Summary, name string, i int) Object {
	o := Object{CID: s.Row.ID, State: s.Row.State, Copies: s.Row.Copies, Target: s.Row.Target,
		Name: name, Regions: int(s.Regions), SafeOffline: s.Safe}
	if s.VerifiedAt == 0 {
		return o
	}
	m.times[i] = time.UnixMilli(s.VerifiedAt)
	stamp := m.cfg.Stamp(m.times[i], m.now)
	o.VerifiedAt, o.Stale = &m.times[i], stamp.Freshness == netstat.Stale
	k := labelKey{secs: int64(stamp.Age / time.Second), stale: o.Stale}
	if stamp.Age < 0 {
		k.secs = -1 // "just now", however early
	}
	label, ok := m.labels[k]
	if !ok {
		label = stamp.Label("verified")
		m.labels[k] = label
	}
	o.Verified = label
	return o
}
