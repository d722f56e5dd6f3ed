package netstat

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cairn-fed/cairn/replication"
	"github.com/cairn-fed/cairn/tombstone"
)

// Health is the answer to cairn health --json: how this node and the
// peers it watches are doing. The node fills in the plain values; the
// flag helpers below build Flagged.
type Health struct {
	Node              string        `json:"node"` // this node's peer ID
	MembersOnline     int           `json:"members_online"`
	MembersTotal      int           `json:"members_total"`
	StorageUsed       uint64        `json:"storage_used_bytes"`
	StorageFree       uint64        `json:"storage_free_bytes"`
	ChallengesPassed  uint64        `json:"challenges_passed"`
	ChallengesFailed  uint64        `json:"challenges_failed"`
	RepairQueue       int           `json:"repair_queue"`       // objects waiting for repair
	TombstonesPending int           `json:"tombstones_pending"` // deletions not yet acknowledged by every holder
	Flagged           []FlaggedPeer `json:"flagged"`
	RosterVersion     uint64        `json:"roster_version"`
	// LastDrill is the latest restore drill (cairn verify); nil if none.
	LastDrill *DrillSummary `json:"last_drill,omitempty"`
	AsOf      time.Time     `json:"as_of"`
}

// DrillSummary is what a restore drill found: when it ran, how many of
// the owner's objects it read back from the other members, from which
// operators, and each object that did not read back, with why.
type DrillSummary struct {
	At        time.Time `json:"at"`
	Objects   int       `json:"objects"`
	Operators []string  `json:"operators,omitempty"`
	Failures  []string  `json:"failures,omitempty"` // "CID: why"
}

// String renders a drill: "2026-12-07 04:50 UTC: 10 objects read back
// from library, school" or, with failures, one line per failure below.
func (d DrillSummary) String() string {
	s := d.At.UTC().Format("2006-01-02 15:04 MST") + ": "
	read := d.Objects - len(d.Failures)
	if len(d.Failures) == 0 {
		s += plural(read, "object", "objects") + " read back"
	} else {
		s += fmt.Sprintf("%d of %d objects did NOT read back", len(d.Failures), d.Objects)
	}
	if len(d.Operators) > 0 {
		s += " (blocks from " + strings.Join(d.Operators, ", ") + ")"
	}
	for _, f := range d.Failures {
		s += "\n    " + f
	}
	return s
}

// Flag says why a peer needs an operator's attention.
type Flag string

// Flags.
const (
	FlagFailingChallenges  Flag = "failing_challenges"
	FlagIgnoringTombstones Flag = "ignoring_tombstones"
	// FlagOverBound: the member sent more than this node keeps or checks
	// for one member (records of objects, attestations or challenges per
	// second), and the excess was refused.
	FlagOverBound Flag = "over_bound"
)

// FlaggedPeer is a peer flagged in node health.
type FlaggedPeer struct {
	PeerID   string     `json:"peer_id"`
	Operator string     `json:"operator"`
	Region   string     `json:"region"`
	Flag     Flag       `json:"flag"`
	Reason   string     `json:"reason"` // for people: what it did, how often
	Since    *time.Time `json:"since"`  // when the trouble started
	Age      string     `json:"age"`    // age of Since
}

// PeerChallenges is the node's record of its challenges to one peer.
type PeerChallenges struct {
	Peer                replication.PeerID
	Operator, Region    string
	Passed, Failed      uint64
	ConsecutiveFailures int
	FirstFailureAt      time.Time // first failure of the current run
	LastReason          string    // replication.Result.Reason of the latest failure
}

// FlagFailing flags peers whose latest Config.FlagAfterFailures or more
// challenges all failed, ordered by peer.
func (v *Viewer) FlagFailing(peers []PeerChallenges, now time.Time) []FlaggedPeer {
	var out []FlaggedPeer
	for _, p := range peers {
		if p.ConsecutiveFailures < v.cfg.FlagAfterFailures {
			continue
		}
		reason := fmt.Sprintf("failed %d challenges in a row (%d passed, %d failed in all)",
			p.ConsecutiveFailures, p.Passed, p.Failed)
		if p.LastReason != "" {
			reason += ", last: " + p.LastReason
		}
		out = append(out, v.flag(string(p.Peer), p.Operator, p.Region, FlagFailingChallenges, reason, p.FirstFailureAt, now))
	}
	sortFlagged(out)
	return out
}

// FlagLaggards flags holders that left deletions unacknowledged past
// tombstone.Config.AckTimeout (from tombstone.Set.Laggards), one entry per
// holder. roster supplies operators and regions and may be nil.
func (v *Viewer) FlagLaggards(laggards []tombstone.Laggard, roster map[replication.PeerID]replication.Member, now time.Time) []FlaggedPeer {
	type agg struct {
		n      int
		oldest time.Time
	}
	by := map[string]*agg{}
	for _, l := range laggards {
		a := by[l.Holder]
		if a == nil {
			a = &agg{oldest: l.DeletedAt}
			by[l.Holder] = a
		}
		a.n++
		a.oldest = minTime(a.oldest, l.DeletedAt)
	}
	out := make([]FlaggedPeer, 0, len(by))
	for holder, a := range by {
		m := roster[replication.PeerID(holder)]
		reason := "has not acknowledged " + plural(a.n, "deletion", "deletions") + ", the oldest issued " + Age(now.Sub(a.oldest))
		out = append(out, v.flag(holder, m.Operator, m.Region, FlagIgnoringTombstones, reason, a.oldest, now))
	}
	sortFlagged(out)
	return out
}

// PeerRefusals is the node's record of input refused from one member for
// being over one of its bounds.
type PeerRefusals struct {
	Peer             replication.PeerID
	Operator, Region string
	Refused          int64
	Since            time.Time // the first refusal
	Last             string    // the latest refusal
}

// FlagOverBound flags every member whose input was refused for being over
// a bound, ordered by peer.
func (v *Viewer) FlagOverBound(peers []PeerRefusals, now time.Time) []FlaggedPeer {
	out := make([]FlaggedPeer, 0, len(peers))
	for _, p := range peers {
		reason := fmt.Sprintf("sent more than this node accepts from one member: %s refused, the latest: %s",
			plural(int(p.Refused), "message", "messages"), p.Last)
		out = append(out, v.flag(string(p.Peer), p.Operator, p.Region, FlagOverBound, reason, p.Since, now))
	}
	sortFlagged(out)
	return out
}

func (v *Viewer) flag(peer, operator, region string, f Flag, reason string, since, now time.Time) FlaggedPeer {
	return FlaggedPeer{PeerID: peer, Operator: operator, Region: region, Flag: f, Reason: reason,
		Since: timeOrNil(since), Age: v.cfg.Stamp(since, now).Ago()}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func sortFlagged(fs []FlaggedPeer) {
	slices.SortFunc(fs, func(a, b FlaggedPeer) int {
		if c := strings.Compare(a.PeerID, b.PeerID); c != 0 {
			return c
		}
		return strings.Compare(string(a.Flag), string(b.Flag))
	})
}

// MarshalJSON writes Flagged as [] rather than null when nothing is flagged.
func (h Health) MarshalJSON() ([]byte, error) {
	type plain Health
	if h.Flagged == nil {
		h.Flagged = []FlaggedPeer{}
	}
	return json.Marshal(plain(h))
}

// String renders the health report for people, one fact per line.
func (h Health) String() string {
	lines := []string{
		fmt.Sprintf("members: %d of %d online", h.MembersOnline, h.MembersTotal),
		fmt.Sprintf("storage: %s used, %s free", Bytes(h.StorageUsed), Bytes(h.StorageFree)),
		fmt.Sprintf("challenges: %d passed, %d failed", h.ChallengesPassed, h.ChallengesFailed),
		fmt.Sprintf("repair queue: %s", plural(h.RepairQueue, "object", "objects")),
		fmt.Sprintf("tombstones pending acknowledgement: %d", h.TombstonesPending),
		fmt.Sprintf("roster version: %d", h.RosterVersion),
	}
	if h.RosterVersion == 0 {
		lines[len(lines)-1] += " (this node belongs to no federation yet: see `cairn federation --help`)"
	}
	if h.LastDrill == nil {
		lines = append(lines, "last restore drill: none yet (`cairn verify` runs one)")
	} else {
		lines = append(lines, "last restore drill: "+h.LastDrill.String())
	}
	if len(h.Flagged) == 0 {
		lines = append(lines, "flagged peers: none")
	} else {
		lines = append(lines, fmt.Sprintf("flagged peers: %d", len(h.Flagged)))
	}
	for _, f := range h.Flagged {
		lines = append(lines, "  "+f.String())
	}
	return strings.Join(lines, "\n")
}

// String renders one flagged peer:
// "12D3… (acme, eu): failing challenges: failed 3 challenges in a row ... (started 5 min ago)".
func (f FlaggedPeer) String() string {
	s := f.PeerID
	if f.Operator != "" || f.Region != "" {
		s += " (" + strings.Trim(f.Operator+", "+f.Region, ", ") + ")"
	}
	s += ": " + strings.ReplaceAll(string(f.Flag), "_", " ") + ": " + f.Reason
	if f.Age != "" {
		s += " (started " + f.Age + ")"
	}
	return s
}

// Bytes renders a size with binary units: "512 B", "1.5 KiB", "38.0 GiB".
func Bytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
