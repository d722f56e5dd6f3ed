package netstat

import (
	"fmt"
	"time"

	"github.com/cairn-fed/cairn/replication"
	"github.com/cairn-fed/cairn/tombstone"
)

// Viewer turns what the replication and tombstone cores report into the
// views people and tools see. It holds only its Config and is safe for
// concurrent use.
type Viewer struct {
	cfg Config
}

// NewViewer returns a Viewer, or an error naming the invalid field.
func NewViewer(cfg Config) (*Viewer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new viewer: %w", err)
	}
	return &Viewer{cfg: cfg}, nil
}

// Config returns the configuration the Viewer was built with.
func (v *Viewer) Config() Config { return v.cfg }

// ObjectInput is everything the node knows about one object, read from
// its cores: replication.Core.Status, tombstone.Set.Progress (zero value
// when the object was never deleted) and when it first learned of it.
type ObjectInput struct {
	Status   replication.ObjectStatus
	Deletion tombstone.Progress
	// FirstSeen is when this node added or first heard of the object;
	// zero when unknown, which counts as past the grace.
	FirstSeen time.Time
	// DrillFailure says why the latest restore drill could not read the
	// object back from the other members; "" when it did or did not try.
	DrillFailure string
}

// known reports whether anything at all is recorded about the object.
func (in ObjectInput) known() bool {
	st := in.Status
	return st.Known || st.HeldLocally || len(st.Holders) > 0 || in.Deletion.Deleted
}

// Facts extracts what the state derives from. It allocates nothing, so
// the node can derive the state of every object cheaply.
func (v *Viewer) Facts(in ObjectInput, now time.Time) Facts {
	st := in.Status
	f := Facts{Target: st.Target, Copies: st.Copies, EverFull: !st.LastFullyReplicatedAt.IsZero(),
		PastGrace: in.FirstSeen.IsZero() || now.Sub(in.FirstSeen) >= v.cfg.AtRiskGrace,
		Deletion:  deletionOf(in.Deletion), DrillFailed: in.DrillFailure != ""}
	for _, h := range st.Holders {
		if !claims(h.State) {
			continue
		}
		f.OwnerHolds = f.OwnerHolds || h.Pinned
		f.OthersHold = f.OthersHold || !h.Pinned
		f.Pending = f.Pending || h.State == replication.HolderUnverified
	}
	return f
}

// State derives the object's state; see Facts.State for the rules.
func (v *Viewer) State(in ObjectInput, now time.Time) State {
	return v.Facts(in, now).State()
}

// claims reports whether a holder in state s still says it has a copy.
func claims(s replication.HolderState) bool {
	return s != replication.HolderReleased && s != replication.HolderRevoked
}

func deletionOf(p tombstone.Progress) Deletion {
	switch p.State() {
	case "deleting":
		return Deleting
	case "deleted":
		return Deleted
	}
	return Live
}

// SafeOffline reports whether at least one verified copy lives on a node
// other than the owner's, so the owner's node may go offline.
func SafeOffline(st replication.ObjectStatus) bool {
	for _, h := range st.Holders {
		if h.State == replication.HolderVerified && !h.Pinned {
			return true
		}
	}
	return false
}

// Object builds the view of one object for cairn status CID and the
// dashboard's object page. It returns ErrNotFound when nothing is known.
func (v *Viewer) Object(in ObjectInput, now time.Time) (ObjectView, error) {
	if !in.known() {
		return ObjectView{}, fmt.Errorf("status of %q: %w", in.Status.Object, ErrNotFound)
	}
	st := in.Status
	ov := ObjectView{CID: string(st.Object), Target: st.Target, Copies: st.Copies, Regions: st.Regions,
		State: v.State(in, now), SafeOffline: SafeOffline(st), AsOf: now,
		LastFullyReplicatedAt: timeOrNil(st.LastFullyReplicatedAt),
		Holders:               make([]HolderView, 0, len(st.Holders))}
	for _, h := range st.Holders {
		ov.Holders = append(ov.Holders, v.holder(h, now))
	}
	v.setVerified(&ov, st, now)
	ov.DrillFailure = in.DrillFailure
	if in.Deletion.Deleted {
		ov.DeletionView = v.deletion(in.Deletion, now)
	}
	ov.Text = ov.Summary()
	return ov, nil
}

func (v *Viewer) holder(h replication.HolderStatus, now time.Time) HolderView {
	s := v.cfg.Stamp(h.VerifiedAt, now)
	return HolderView{PeerID: string(h.Peer), Operator: h.Operator, Region: h.Region,
		VerifiedAt: timeOrNil(h.VerifiedAt), Sampled: h.Sampled, CheckedAt: timeOrNil(h.CheckedAt),
		State: h.State.String(), Reason: h.Reason, Age: s.Ago(),
		Stale: h.State == replication.HolderStale || s.Freshness == Stale, Local: h.Local, Owner: h.Pinned}
}

// setVerified records the oldest verification among the counted remote
// copies: "verified 12 s ago" then holds for every one of them.
func (v *Viewer) setVerified(ov *ObjectView, st replication.ObjectStatus, now time.Time) {
	var oldest time.Time
	for _, h := range st.Holders {
		if h.State == replication.HolderVerified && !h.VerifiedAt.IsZero() &&
			(oldest.IsZero() || h.VerifiedAt.Before(oldest)) {
			oldest = h.VerifiedAt
		}
	}
	s := v.cfg.Stamp(oldest, now)
	ov.VerifiedAt, ov.Stale = timeOrNil(oldest), s.Freshness == Stale
	if s.Freshness != Never {
		ov.Verified = s.Label("verified")
	}
}

func (v *Viewer) deletion(p tombstone.Progress, now time.Time) *DeletionView {
	d := &DeletionView{DeletedOn: p.DeletedOn, HoldersAtDeletion: p.Holders, PurgedOn: p.PurgedOn}
	for _, u := range p.Unconfirmed {
		s := v.cfg.Stamp(u.LastSeen, now)
		d.Unconfirmed = append(d.Unconfirmed, UnconfirmedHolder{PeerID: u.Holder,
			LastSeen: timeOrNil(u.LastSeen), Age: s.Ago(), Stale: s.Freshness == Stale})
	}
	return d
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
