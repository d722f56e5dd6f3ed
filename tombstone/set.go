package tombstone

import (
	"fmt"
	"sort"
	"time"
)

// Set is the tombstone state of one node: per object, the winning owner
// tombstone and the winning takedown (two independent lanes, so an owner
// cannot undo a takedown and a takedown cannot be lifted on an owner's
// behalf), plus acknowledgements and local purge marks.
//
// A Set is deterministic and does no IO; it is not safe for concurrent use:
// the node serialises calls.
type Set struct {
	// Set at construction.
	cfg  Config
	keys Keys

	objects map[string]*entry
	digest  Digest
	signers map[string]string // interning: owners sign many tombstones
}

// entry holds everything known about one object.
type entry struct {
	lanes     [2]*record // indexed by Kind-1
	acks      map[ackKey]Ack
	compacted bool // reason text and acks dropped by Compact; cleared by a newer record
	purged    bool // local blocks removed (MarkPurged); never replicated
}

type ackKey struct {
	kind   Kind
	phase  Phase
	holder string
}

// Entry is the public view of one object's tombstones.
type Entry struct {
	Owner     Tombstone // zero Version when the owner never signed one
	Takedown  Tombstone // zero Version when there is no takedown
	Compacted bool      // acknowledgements and reason text were dropped
	Purged    bool      // this node has removed the blocks
}

// Deleted reports whether either lane currently deletes the object.
func (e Entry) Deleted() bool {
	return e.Owner.Deleted || e.Takedown.Deleted
}

// NewSet returns an empty set. keys decides who may sign for what.
func NewSet(cfg Config, keys Keys) (*Set, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if keys == nil {
		return nil, fmt.Errorf("tombstone.keys is nil: %w", ErrInvalidConfig)
	}
	return &Set{cfg: cfg, keys: keys, objects: map[string]*entry{}, signers: map[string]string{}}, nil
}

// Apply verifies t (signer role, signature, timestamp, version
// plausibility) and records it if it beats what is known for its object
// and kind. It returns changed=false without error for a duplicate or an
// older (replayed) version. Apply is the only way untrusted tombstones
// should enter a set.
func (s *Set) Apply(t Tombstone, now time.Time) (changed bool, err error) {
	owner := s.keys.ObjectOwner(t.Object)
	if err := Verify(t, owner, s.keys.Authority(), now, s.cfg.MaxClockSkew); err != nil {
		return false, fmt.Errorf("apply %s tombstone %q v%d: %w", t.Kind, t.Object, t.Version, err)
	}
	if err := s.checkVersion(t.Object, t.Kind, t.Version); err != nil {
		return false, fmt.Errorf("apply %s tombstone %q: %w", t.Kind, t.Object, err)
	}
	return s.put(t.Object, t.Kind, newRecord(t, s.intern)), nil
}

// checkVersion rejects versions more than MaxVersionJump ahead of the
// newest known for the lane (0 for an unknown lane).
func (s *Set) checkVersion(object string, k Kind, v uint64) error {
	var cur uint64
	if r := s.lane(object, k); r != nil {
		cur = r.version
	}
	if v > cur && v-cur > s.cfg.MaxVersionJump {
		return fmt.Errorf("version %d, newest known %d: %w", v, cur, ErrAbsurdVersion)
	}
	return nil
}

func (s *Set) lane(object string, k Kind) *record {
	if e := s.objects[object]; e != nil {
		return e.lanes[k-1]
	}
	return nil
}

// put stores r if it beats the current record of its lane, keeping the
// anti-entropy digest in step.
func (s *Set) put(object string, k Kind, r *record) bool {
	e := s.objects[object]
	if e == nil {
		e = &entry{}
		s.objects[object] = e
	}
	slot := &e.lanes[k-1]
	if *slot != nil && !r.beats(*slot) {
		return false
	}
	b := bucketOf(object)
	if *slot != nil {
		s.digest[b] ^= (*slot).fp
	}
	s.digest[b] ^= r.fp
	*slot = r
	e.compacted = false
	return true
}

func (s *Set) intern(key string) string {
	if v, ok := s.signers[key]; ok {
		return v
	}
	s.signers[key] = key
	return key
}

// IsDeleted reports whether object is currently deleted by either lane.
// A deleted object must not be served, counted, repaired, fetched or
// announced.
func (s *Set) IsDeleted(object string) bool {
	e := s.objects[object]
	return e != nil && e.deleted()
}

// Get returns the tombstones known for object.
func (s *Set) Get(object string) (Entry, bool) {
	e := s.objects[object]
	if e == nil {
		return Entry{}, false
	}
	out := Entry{Compacted: e.compacted, Purged: e.purged}
	if r := e.lanes[0]; r != nil {
		out.Owner = r.tombstone(object, KindOwner)
	}
	if r := e.lanes[1]; r != nil {
		out.Takedown = r.tombstone(object, KindTakedown)
	}
	return out, true
}

// Len returns the number of objects with at least one tombstone.
func (s *Set) Len() int { return len(s.objects) }

// Tombstones returns every stored tombstone, ordered by object then kind,
// for persistence and full resynchronisation.
func (s *Set) Tombstones() []Tombstone {
	var out []Tombstone
	for _, obj := range s.sortedObjects() {
		out = append(out, s.objects[obj].tombstones(obj)...)
	}
	return out
}

func (s *Set) sortedObjects() []string {
	objs := make([]string, 0, len(s.objects))
	for obj := range s.objects {
		objs = append(objs, obj)
	}
	sort.Strings(objs)
	return objs
}

func (e *entry) tombstones(object string) []Tombstone {
	var out []Tombstone
	for i, r := range e.lanes {
		if r != nil {
			out = append(out, r.tombstone(object, Kind(i+1)))
		}
	}
	return out
}

func (e *entry) deleted() bool {
	for _, r := range e.lanes {
		if r != nil && r.deleted {
			return true
		}
	}
	return false
}

// Merge folds other into s: per object and kind the winning record of the
// two, and the union of acknowledgements (the best per holder and phase).
// Merge is commutative, associative and idempotent. It does not verify:
// use it for sets this node already trusts (its own persisted state, a
// test); untrusted tombstones go through Apply. The local purged mark of
// s is kept; an entry stops being compacted when a newer tombstone wins.
func (s *Set) Merge(other *Set) {
	for obj, oe := range other.objects {
		for i, r := range oe.lanes {
			if cur := s.lane(obj, Kind(i+1)); r != nil && (cur == nil || r.beats(cur)) {
				c := *r // records are shared by no two sets
				c.signer = s.intern(c.signer)
				s.put(obj, Kind(i+1), &c)
			}
		}
		e := s.objects[obj]
		for key, a := range oe.acks {
			e.putAck(key, a)
		}
	}
}
