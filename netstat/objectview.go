package netstat

import (
	"slices"
	"strings"
	"time"
)

// ObjectView is the answer to cairn status CID --json and the dashboard's
// object page. Times are null when there is none.
type ObjectView struct {
	CID     string       `json:"cid"`
	Target  int          `json:"target"`
	Copies  int          `json:"copies"`  // distinct operators with a verified copy
	Regions int          `json:"regions"` // distinct regions among verified copies
	Holders []HolderView `json:"holders"` // sorted by peer
	State   State        `json:"state"`
	// SafeOffline: a verified copy lives on a node other than the owner's.
	SafeOffline           bool       `json:"safe_offline"`
	LastFullyReplicatedAt *time.Time `json:"last_fully_replicated_at"`
	// VerifiedAt is the oldest verification among counted remote copies,
	// so "verified 12 s ago" holds for all of them.
	VerifiedAt *time.Time `json:"verified_at"`
	Verified   string     `json:"verified,omitempty"` // "verified 12 s ago", "(stale)" appended when old
	Stale      bool       `json:"stale"`
	Text       string     `json:"summary"` // Summary()
	// DrillFailure says why the latest restore drill could not read the
	// object back from the other members.
	DrillFailure string    `json:"drill_failure,omitempty"`
	AsOf         time.Time `json:"as_of"` // when the view was computed
	// DeletionView is set (and its fields appear) once a tombstone deletes
	// the object.
	*DeletionView
}

// HolderView is one holder's line in an ObjectView.
type HolderView struct {
	PeerID     string     `json:"peer_id"`
	Operator   string     `json:"operator"`
	Region     string     `json:"region"`
	VerifiedAt *time.Time `json:"verified_at"`
	// Sampled says VerifiedAt is the latest round of the holder with a
	// verifier, passed in full, that drew a sample of their shared copies;
	// this copy's own latest check, which passed, is CheckedAt.
	Sampled   bool       `json:"sampled,omitempty"`
	CheckedAt *time.Time `json:"checked_at,omitempty"`
	// State is replication's holder state: verified, unverified, failed,
	// stale, released or revoked. Only verified copies count.
	State  string `json:"state"`
	Reason string `json:"reason"` // why the copy does not count; empty when it does
	Age    string `json:"age"`    // age of VerifiedAt ("3 min ago"); empty when never
	Stale  bool   `json:"stale"`
	Local  bool   `json:"local"` // this node
	Owner  bool   `json:"owner"` // the owner's node (never releases its copy)
}

// DeletionView is how far a deletion has reached.
type DeletionView struct {
	DeletedOn         int                 `json:"deleted_on"` // holders that applied the tombstone
	HoldersAtDeletion int                 `json:"holders_at_deletion"`
	PurgedOn          int                 `json:"purged_on"` // holders whose blocks are gone
	Unconfirmed       []UnconfirmedHolder `json:"unconfirmed,omitempty"`
}

// UnconfirmedHolder is a holder that has not acknowledged a deletion.
type UnconfirmedHolder struct {
	PeerID   string     `json:"peer_id"`
	LastSeen *time.Time `json:"last_seen"`
	Age      string     `json:"age"` // age of LastSeen; empty when never seen
	Stale    bool       `json:"stale"`
}

// Summary is the short human line for the object, for example
// "3 copies on 3 operators in 2 regions, verified 12 s ago".
func (v ObjectView) Summary() string {
	switch v.State {
	case StateDeleting, StateDeleted:
		return v.deletionLine()
	case StateLocalOnly:
		return v.localOnlyLine()
	case StateLost:
		return "lost: no verified copy on any node" + v.lastFull()
	case StateReplicating:
		return v.offline("replicating: " + v.copiesOf() + v.pending())
	case StateAtRisk:
		if v.DrillFailure != "" {
			return "at risk: the latest restore drill could not read it back from the other members: " + v.DrillFailure
		}
		return v.offline("at risk: " + v.copiesOf() + v.lastFull())
	}
	return v.offline(v.copiesLine())
}

func (v ObjectView) copiesLine() string {
	s := plural(v.Copies, "copy", "copies") + " on " + plural(v.Copies, "operator", "operators") +
		" in " + plural(v.Regions, "region", "regions")
	if v.Verified != "" {
		s += ", " + v.Verified
	}
	return s
}

func (v ObjectView) copiesOf() string {
	s := itoa(v.Copies) + " of " + plural(v.Target, "copy", "copies")
	if v.Verified != "" {
		s += ", " + v.Verified
	}
	return s
}

func (v ObjectView) pending() string {
	n := 0
	for _, h := range v.Holders {
		n += btoi(h.State == "unverified")
	}
	if n == 0 {
		return ""
	}
	return "; " + plural(n, "holder", "holders") + " not verified yet"
}

func (v ObjectView) lastFull() string {
	if v.LastFullyReplicatedAt == nil {
		return ""
	}
	return "; last fully replicated " + Age(v.AsOf.Sub(*v.LastFullyReplicatedAt))
}

func (v ObjectView) offline(s string) string {
	if v.SafeOffline {
		return s
	}
	return s + "; not yet safe to go offline"
}

func (v ObjectView) localOnlyLine() string {
	if slices.ContainsFunc(v.Holders, func(h HolderView) bool { return h.Local && h.Owner }) {
		return "only on this node: not yet safe to go offline"
	}
	return "only on the owner's node: not yet replicated"
}

// deletionLine renders deletion progress in the words of
// tombstone.Progress.Summary, with this package's ages.
func (v ObjectView) deletionLine() string {
	d := v.DeletionView
	if d == nil {
		return v.State.Label()
	}
	s := "deleted on " + itoa(d.DeletedOn) + " of " + plural(d.HoldersAtDeletion, "holder", "holders")
	switch n := len(d.Unconfirmed); {
	case n == 1:
		return s + "; 1 holder has not confirmed, " + seen(d.Unconfirmed[0], "last seen ", "never seen")
	case n > 1:
		seenList := make([]string, n)
		for i, u := range d.Unconfirmed {
			seenList[i] = seen(u, "", "never")
		}
		return s + "; " + itoa(n) + " holders have not confirmed (last seen " + strings.Join(seenList, ", ") + ")"
	case d.PurgedOn < d.HoldersAtDeletion:
		return s + "; blocks removed on " + itoa(d.PurgedOn)
	}
	return s + "; blocks removed everywhere"
}

func seen(u UnconfirmedHolder, prefix, never string) string {
	if u.Age == "" {
		return never
	}
	return prefix + u.Age
}

// RegionGroup is one region in the dashboard's map-like grouping.
type RegionGroup struct {
	Region    string          `json:"region"`
	Operators []OperatorGroup `json:"operators"`
}

// OperatorGroup is one operator's holders within a region.
type OperatorGroup struct {
	Operator string       `json:"operator"`
	Holders  []HolderView `json:"holders"`
}

// ByRegion groups the holders region -> operator -> holders, each level
// sorted by name (holders keep their peer order).
func (v ObjectView) ByRegion() []RegionGroup {
	hs := slices.Clone(v.Holders)
	slices.SortStableFunc(hs, func(a, b HolderView) int {
		if c := strings.Compare(a.Region, b.Region); c != 0 {
			return c
		}
		return strings.Compare(a.Operator, b.Operator)
	})
	var out []RegionGroup
	for _, h := range hs {
		if len(out) == 0 || out[len(out)-1].Region != h.Region {
			out = append(out, RegionGroup{Region: h.Region})
		}
		r := &out[len(out)-1]
		if len(r.Operators) == 0 || r.Operators[len(r.Operators)-1].Operator != h.Operator {
			r.Operators = append(r.Operators, OperatorGroup{Operator: h.Operator})
		}
		o := &r.Operators[len(r.Operators)-1]
		o.Holders = append(o.Holders, h)
	}
	return out
}
