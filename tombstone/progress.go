package tombstone

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// ApplyAck verifies an acknowledgement (holder key, signature, timestamp)
// and records it if it is the best known for its object, kind, holder and
// phase. The tombstone it acknowledges must be known (else
// ErrUnknownObject: retry after anti-entropy).
func (s *Set) ApplyAck(a Ack, now time.Time) (changed bool, err error) {
	key := s.keys.HolderKey(a.Holder)
	if key == nil {
		return false, fmt.Errorf("apply ack from %q: %w", a.Holder, ErrUnknownHolder)
	}
	if err := VerifyAck(a, key, now, s.cfg.MaxClockSkew); err != nil {
		return false, fmt.Errorf("apply ack from %q for %q: %w", a.Holder, a.Object, err)
	}
	r := s.lane(a.Object, a.Kind)
	if r == nil {
		return false, fmt.Errorf("apply ack from %q for %q: %w", a.Holder, a.Object, ErrUnknownObject)
	}
	if a.Version > r.version && a.Version-r.version > s.cfg.MaxVersionJump {
		return false, fmt.Errorf("apply ack for %q version %d: %w", a.Object, a.Version, ErrAbsurdVersion)
	}
	return s.objects[a.Object].putAck(ackKey{a.Kind, a.Phase, a.Holder}, a), nil
}

func (e *entry) putAck(key ackKey, a Ack) bool {
	if cur, ok := e.acks[key]; ok && !betterAck(a, cur) {
		return false
	}
	if e.acks == nil {
		e.acks = map[ackKey]Ack{}
	}
	e.acks[key] = a
	return true
}

// Acks returns the acknowledgements recorded for object, ordered by kind,
// phase and holder.
func (s *Set) Acks(object string) []Ack {
	e := s.objects[object]
	if e == nil {
		return nil
	}
	out := make([]Ack, 0, len(e.acks))
	for _, a := range e.acks {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return ackLess(out[i], out[j]) })
	return out
}

func ackLess(a, b Ack) bool {
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Phase != b.Phase {
		return a.Phase < b.Phase
	}
	return a.Holder < b.Holder
}

// confirmed reports whether holder acknowledged phase (or a later phase)
// for a lane that currently deletes the object, at its current version.
func (e *entry) confirmed(holder string, phase Phase) bool {
	for i, r := range e.lanes {
		if r == nil || !r.deleted {
			continue
		}
		for p := phase; p <= PhasePurged; p++ {
			if a, ok := e.acks[ackKey{Kind(i + 1), p, holder}]; ok && a.Version >= r.version {
				return true
			}
		}
	}
	return false
}

// deletedSince returns the earliest issue time among the lanes that
// currently delete the object.
func (e *entry) deletedSince() (time.Time, bool) {
	var since time.Time
	found := false
	for _, r := range e.lanes {
		if r != nil && r.deleted && (!found || r.issued().Before(since)) {
			since, found = r.issued(), true
		}
	}
	return since, found
}

// Progress is how far a deletion has reached, for cairn status.
type Progress struct {
	Object      string
	Deleted     bool
	Holders     int // holders at deletion
	DeletedOn   int // holders that acknowledged applying (or purging)
	PurgedOn    int // holders that acknowledged removing the blocks
	Unconfirmed []Unconfirmed
	Now         time.Time
}

// Unconfirmed is a holder that has not acknowledged applying a deletion.
type Unconfirmed struct {
	Holder   string
	LastSeen time.Time // zero when never seen
}

// Progress reports how far the deletion of object has reached among
// holdersAtDeletion (duplicates ignored); lastSeen gives when each holder
// was last heard from. Acknowledgements are forgotten by Compact, so ask
// before Retention has passed.
func (s *Set) Progress(object string, holdersAtDeletion []string, lastSeen map[string]time.Time, now time.Time) Progress {
	p := Progress{Object: object, Now: now}
	e := s.objects[object]
	if e == nil || !e.deleted() {
		return p
	}
	p.Deleted = true
	for _, h := range dedupe(holdersAtDeletion) {
		p.count(e, h, lastSeen)
	}
	return p
}

func (p *Progress) count(e *entry, holder string, lastSeen map[string]time.Time) {
	p.Holders++
	switch {
	case e.confirmed(holder, PhasePurged):
		p.PurgedOn++
		p.DeletedOn++
	case e.confirmed(holder, PhaseApplied):
		p.DeletedOn++
	default:
		p.Unconfirmed = append(p.Unconfirmed, Unconfirmed{holder, lastSeen[holder]})
	}
}

func dedupe(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	n := 0
	for i, h := range out {
		if i == 0 || h != out[n-1] {
			out[n] = h
			n++
		}
	}
	return out[:n]
}

// State returns "live", "deleting" (some holder has not yet removed the
// blocks) or "deleted" (every holder at deletion has).
func (p Progress) State() string {
	switch {
	case !p.Deleted:
		return "live"
	case p.PurgedOn < p.Holders:
		return "deleting"
	}
	return "deleted"
}

// Summary renders the progress for people, for example
// "deleted on 4 of 5 holders; 1 holder has not confirmed, last seen 2 h ago".
func (p Progress) Summary() string {
	if !p.Deleted {
		return "not deleted"
	}
	s := fmt.Sprintf("deleted on %d of %d holders", p.DeletedOn, p.Holders)
	switch n := len(p.Unconfirmed); {
	case n == 1:
		s += "; 1 holder has not confirmed, " + p.seen(p.Unconfirmed[0], "last seen ", "never seen")
	case n > 1:
		seen := make([]string, n)
		for i, u := range p.Unconfirmed {
			seen[i] = p.seen(u, "", "never")
		}
		s += fmt.Sprintf("; %d holders have not confirmed (last seen %s)", n, strings.Join(seen, ", "))
	}
	return s
}

func (p Progress) seen(u Unconfirmed, prefix, never string) string {
	if u.LastSeen.IsZero() {
		return never
	}
	return prefix + Ago(p.Now.Sub(u.LastSeen))
}

// Ago renders an elapsed time coarsely: "30 s ago", "5 min ago", "2 h ago",
// "3 d ago" (hours up to 48 h). Negative durations count as zero.
func Ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", max(d, 0)/time.Second)
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", d/time.Minute)
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", d/time.Hour)
	}
	return fmt.Sprintf("%d d ago", d/(24*time.Hour))
}

// Laggard is a holder that has not acknowledged a deletion within
// Config.AckTimeout: node health reports it as ignoring tombstones.
type Laggard struct {
	Object    string
	Holder    string
	DeletedAt time.Time
}

// Laggards lists, ordered by object and holder, the holders (from
// holdersAtDeletion, which the node answers from its replica ledger) that
// have not acknowledged applying a deletion AckTimeout after it was
// issued. Compacted entries are skipped. It scans every entry: call it
// from a periodic health check, not per message.
func (s *Set) Laggards(now time.Time, holdersAtDeletion func(object string) []string) []Laggard {
	var out []Laggard
	for obj, e := range s.objects {
		since, ok := e.deletedSince()
		if !ok || e.compacted || now.Sub(since) < s.cfg.AckTimeout {
			continue
		}
		for _, h := range dedupe(holdersAtDeletion(obj)) {
			if !e.confirmed(h, PhaseApplied) {
				out = append(out, Laggard{obj, h, since})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Object != out[j].Object {
			return out[i].Object < out[j].Object
		}
		return out[i].Holder < out[j].Holder
	})
	return out
}
