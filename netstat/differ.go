package netstat

import "slices"

// Diff returns the events implied by an object's view changing from prev
// to cur, stamped with cur.AsOf and without Seq (the log assigns it), in
// this order: object_added (prev is the zero view), tombstone_applied,
// copy_lost and copy_verified per holder, deletion_acknowledged per
// holder, state_changed, target_reached. A holder's copy is verified when
// its state is "verified"; re-verifying an already verified copy is not
// an event. While the object is deleted, copies going away are not
// reported as lost. The node persists and publishes what Diff returns and
// adds the events only it can see (repairs, peers joining and leaving).
func Diff(prev, cur ObjectView) []Event {
	if cur.CID == "" {
		return nil
	}
	d := differ{prev: prev, cur: cur}
	d.added()
	d.tombstone()
	if !deleted(cur.State) {
		d.copies()
	}
	d.acks()
	d.state()
	return d.out
}

type differ struct {
	prev, cur ObjectView
	out       []Event
}

func (d *differ) emit(t EventType) *Event {
	d.out = append(d.out, Event{At: d.cur.AsOf, Type: t, Object: d.cur.CID, Copies: d.cur.Copies, Target: d.cur.Target})
	return &d.out[len(d.out)-1]
}

func (d *differ) emitHolder(t EventType, h HolderView, detail string) {
	e := d.emit(t)
	e.Peer, e.Operator, e.Region, e.Detail = h.PeerID, h.Operator, h.Region, detail
}

func deleted(s State) bool { return s == StateDeleting || s == StateDeleted }

func (d *differ) added() {
	if d.prev.CID == "" {
		d.emit(EventObjectAdded).To = d.cur.State
	}
}

func (d *differ) tombstone() {
	if deleted(d.cur.State) && !deleted(d.prev.State) {
		d.emit(EventTombstoneApplied)
	}
}

// copies reports holders whose copy started or stopped counting, lost
// ones first, each group in peer order.
func (d *differ) copies() {
	was, is := verifiedHolders(d.prev), verifiedHolders(d.cur)
	for _, h := range d.prev.Holders {
		if was[h.PeerID] && !is[h.PeerID] {
			d.emitHolder(EventCopyLost, h, lostReason(d.cur, h.PeerID))
		}
	}
	for _, h := range d.cur.Holders {
		if is[h.PeerID] && !was[h.PeerID] {
			d.emitHolder(EventCopyVerified, h, "")
		}
	}
}

func verifiedHolders(v ObjectView) map[string]bool {
	m := make(map[string]bool, len(v.Holders))
	for _, h := range v.Holders {
		m[h.PeerID] = m[h.PeerID] || h.State == "verified"
	}
	return m
}

func lostReason(v ObjectView, peer string) string {
	i := slices.IndexFunc(v.Holders, func(h HolderView) bool { return h.PeerID == peer })
	switch {
	case i < 0:
		return "holder no longer recorded"
	case v.Holders[i].Reason != "":
		return v.Holders[i].Reason
	}
	return v.Holders[i].State
}

// acks reports holders that were waiting to confirm a deletion and no
// longer are. Before the deletion was known, every holder claiming a copy
// counts as waiting, so holders that confirm at once are reported too.
func (d *differ) acks() {
	if d.cur.DeletionView == nil {
		return
	}
	waiting := d.waitingBefore()
	still := map[string]bool{}
	for _, u := range d.cur.Unconfirmed {
		still[u.PeerID] = true
	}
	for _, h := range waiting {
		if !still[h.PeerID] {
			d.emitHolder(EventDeletionAcknowledged, h, "")
		}
	}
}

func (d *differ) waitingBefore() []HolderView {
	if d.prev.DeletionView != nil {
		out := make([]HolderView, 0, len(d.prev.Unconfirmed))
		for _, u := range d.prev.Unconfirmed {
			out = append(out, d.holderOrBare(u.PeerID))
		}
		return out
	}
	return slices.DeleteFunc(slices.Clone(d.prev.Holders), func(h HolderView) bool {
		return h.State == "released" || h.State == "revoked"
	})
}

// holderOrBare returns the holder's line from either view, or just its ID.
func (d *differ) holderOrBare(peer string) HolderView {
	for _, v := range []ObjectView{d.cur, d.prev} {
		if i := slices.IndexFunc(v.Holders, func(h HolderView) bool { return h.PeerID == peer }); i >= 0 {
			return v.Holders[i]
		}
	}
	return HolderView{PeerID: peer}
}

func (d *differ) state() {
	if d.prev.CID != "" && d.prev.State != d.cur.State {
		e := d.emit(EventStateChanged)
		e.From, e.To = d.prev.State, d.cur.State
	}
	if d.cur.State == StateBackedUp && d.prev.State != StateBackedUp {
		d.emit(EventTargetReached)
	}
}
