package replication

import (
	"hash/maphash"
	"iter"
	"math/bits"
)

// objectTable holds the ledger's entries, numbered in the order their
// objects were first recorded, and finds an entry from its object's ID.
// It does the work of a map[ObjectID]*objectEntry in less memory, which
// a ledger of a million objects needs (issue 17: under 200 bytes per
// (object, holder) pair):
//
//   - each ID is kept once, in its entry, where the map kept a second
//     string header as the key;
//   - entries lie in chunks of chunkLen rather than one allocation each,
//     and never move, so a 4-byte number names one: the ledger's index by
//     holder keeps numbers, not pointers;
//   - the index is one array of 8-byte slots (open addressing, linear
//     probing, at most 3/4 full). A Go map's slot holds the key and value
//     (24 bytes) and a control byte, and at a million objects its tables
//     have just split: 56 bytes per object there, 17 here.
//
// Objects are never removed, so probing needs no tombstones. The hash
// seed is random per table, as a Go map's is, so that no peer can pick
// object IDs that collide; only where a slot lies depends on it, never
// what the ledger does.
type objectTable struct {
	chunks []*[chunkLen]objectEntry
	n      uint32 // entries so far; entry i is chunks[i/chunkLen][i%chunkLen]
	// slots is the index, len a power of two: 0 is free, otherwise the
	// high 32 bits of the ID's hash (whose top bits choose the home slot,
	// so growing needs no ID) above the entry's number + 1.
	slots []uint64
	shift uint8 // 32 - log2(len(slots)): a hash's home slot is tag >> shift
	seed  maphash.Seed
}

// chunkLen is how many entries one allocation holds: 10 KiB of 80-byte
// entries, a size class of its own.
const chunkLen = 128

// len is the number of objects.
func (t *objectTable) len() int { return int(t.n) }

// at returns entry i (i < t.len()).
func (t *objectTable) at(i uint32) *objectEntry { return &t.chunks[i/chunkLen][i%chunkLen] }

// get returns id's entry; nil when there is none.
func (t *objectTable) get(id ObjectID) *objectEntry {
	if len(t.slots) == 0 {
		return nil
	}
	_, e, _ := t.find(id, t.tag(id))
	return e
}

// tag is the high half of id's hash.
func (t *objectTable) tag(id ObjectID) uint32 {
	return uint32(maphash.String(t.seed, string(id)) >> 32)
}

// find returns id's entry and its number, or a nil entry and the free
// slot where id would go. The index must not be empty.
func (t *objectTable) find(id ObjectID, tag uint32) (i uint32, e *objectEntry, free int) {
	mask := len(t.slots) - 1
	for s := int(tag >> t.shift); ; s = (s + 1) & mask {
		slot := t.slots[s]
		if slot == 0 {
			return 0, nil, s
		}
		if uint32(slot>>32) == tag {
			if i := uint32(slot) - 1; t.at(i).id == id {
				return i, t.at(i), s
			}
		}
	}
}

// add returns id's entry and its number, adding an empty entry when
// there is none.
func (t *objectTable) add(id ObjectID) (uint32, *objectEntry) {
	if (int(t.n)+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	tag := t.tag(id)
	i, e, free := t.find(id, tag)
	if e != nil {
		return i, e
	}
	i = t.n
	if i%chunkLen == 0 {
		t.chunks = append(t.chunks, new([chunkLen]objectEntry))
	}
	t.n++
	e = t.at(i)
	e.id = id
	t.slots[free] = uint64(tag)<<32 | uint64(i+1)
	return i, e
}

// grow doubles the index (or starts it), moving each slot to its home
// in the larger one.
func (t *objectTable) grow() {
	if t.slots == nil {
		t.seed = maphash.MakeSeed()
	}
	old := t.slots
	t.slots = make([]uint64, max(8, 2*len(old)))
	t.shift = uint8(33 - bits.Len(uint(len(t.slots))))
	mask := len(t.slots) - 1
	for _, slot := range old {
		if slot == 0 {
			continue
		}
		s := int(uint32(slot>>32) >> t.shift)
		for t.slots[s] != 0 {
			s = (s + 1) & mask
		}
		t.slots[s] = slot
	}
}

// all yields every entry, in the order their objects were first recorded.
func (t *objectTable) all() iter.Seq[*objectEntry] {
	return func(yield func(*objectEntry) bool) {
		for i := range t.n {
			if !yield(t.at(i)) {
				return
			}
		}
	}
}
