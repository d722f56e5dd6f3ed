package tombstone

import (
	"encoding/binary"
	"fmt"

	"github.com/cairn-fed/cairn/internal/wire"
)

// DigestBuckets is the number of buckets objects are hashed into for
// anti-entropy.
const DigestBuckets = 256

// MaxListingEntries bounds a decoded Listing (about 40 MB of entries);
// larger sets are exchanged a few buckets at a time.
const MaxListingEntries = 1 << 20

// Digest summarises a set in 2 KiB: per bucket, the XOR of the
// fingerprints of its tombstones. Two sets with equal digests hold the same
// tombstones (with overwhelming probability); differing buckets say where
// to look.
type Digest [DigestBuckets]uint64

// Digest returns the set's digest. It is kept up to date on every change,
// so this is a copy, not a scan.
func (s *Set) Digest() Digest { return s.digest }

// Differs returns, ascending, the buckets where d and other differ.
func (d Digest) Differs(other Digest) []int {
	var out []int
	for i := range d {
		if d[i] != other[i] {
			out = append(out, i)
		}
	}
	return out
}

// bucketOf hashes an object ID with 32-bit FNV-1a (inlined to avoid an
// allocation per call); every node must compute the same bucket.
func bucketOf(object string) int {
	h := uint32(2166136261)
	for i := 0; i < len(object); i++ {
		h = (h ^ uint32(object[i])) * 16777619
	}
	return int(h % DigestBuckets)
}

// Listing names every tombstone a set holds in some buckets, by identity
// only (no signatures): the second step of anti-entropy.
type Listing struct {
	Buckets []int // ascending, each below DigestBuckets
	Entries []ListingEntry
}

// ListingEntry identifies one tombstone.
type ListingEntry struct {
	Object      string
	Kind        Kind
	Version     uint64
	Fingerprint uint64
}

// Listing lists the tombstones in buckets (duplicates and out-of-range
// buckets ignored), ordered by object and kind.
func (s *Set) Listing(buckets []int) Listing {
	want := bucketMask(buckets)
	l := Listing{Buckets: maskBuckets(want)}
	for _, obj := range s.sortedObjects() {
		if !want[bucketOf(obj)] {
			continue
		}
		for i, r := range s.objects[obj].lanes {
			if r != nil {
				l.Entries = append(l.Entries, ListingEntry{obj, Kind(i + 1), r.version, r.fp})
			}
		}
	}
	return l
}

func bucketMask(buckets []int) *[DigestBuckets]bool {
	var m [DigestBuckets]bool
	for _, b := range buckets {
		if b >= 0 && b < DigestBuckets {
			m[b] = true
		}
	}
	return &m
}

func maskBuckets(m *[DigestBuckets]bool) []int {
	var out []int
	for b, ok := range m {
		if ok {
			out = append(out, b)
		}
	}
	return out
}

// AllBuckets returns every bucket number, for a full resynchronisation.
func AllBuckets() []int {
	out := make([]int, DigestBuckets)
	for i := range out {
		out[i] = i
	}
	return out
}

// Missing returns, ordered by object and kind, the tombstones in the
// remote listing's buckets that the remote lacks, holds at an older
// version, or holds in a different form at the same version (the remote's
// Apply then picks the same winner as everyone). The node sends them; the
// remote applies each with Apply, before announcing anything it holds.
func (s *Set) Missing(remote Listing) []Tombstone {
	type laneKey struct {
		object string
		kind   Kind
	}
	theirs := make(map[laneKey]ListingEntry, len(remote.Entries))
	for _, e := range remote.Entries {
		theirs[laneKey{e.Object, e.Kind}] = e
	}
	var out []Tombstone
	for _, le := range s.Listing(remote.Buckets).Entries {
		t, ok := theirs[laneKey{le.Object, le.Kind}]
		if !ok || t.Version < le.Version || (t.Version == le.Version && t.Fingerprint != le.Fingerprint) {
			out = append(out, s.lane(le.Object, le.Kind).tombstone(le.Object, le.Kind))
		}
	}
	return out
}

// MarshalBinary encodes a digest: u8 wire version | u8 type (3) |
// 256 x u64 bucket hashes.
func (d Digest) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 2+8*DigestBuckets)
	b = append(b, wireVersion, typeDigest)
	for _, h := range d {
		b = binary.BigEndian.AppendUint64(b, h)
	}
	return b, nil
}

// DecodeDigest parses a digest from untrusted bytes.
func DecodeDigest(b []byte) (Digest, error) {
	r := newReader(b)
	r.header(typeDigest)
	var d Digest
	for i := range d {
		d[i] = r.U64("bucket")
	}
	if err := r.Done(); err != nil {
		return Digest{}, fmt.Errorf("decode digest: %w", err)
	}
	return d, nil
}

// MarshalBinary encodes a listing: u8 wire version | u8 type (4) |
// 32-byte bucket bitmap | u32 count | count x (u16 len | object | u8 kind |
// u64 version | u64 fingerprint), entries strictly ascending by object and
// kind.
func (l Listing) MarshalBinary() ([]byte, error) {
	if len(l.Entries) > MaxListingEntries {
		return nil, fmt.Errorf("encode listing: %d entries: %w", len(l.Entries), ErrMalformed)
	}
	b := append([]byte{wireVersion, typeListing}, bitmap(l.Buckets)...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(l.Entries)))
	for i, e := range l.Entries {
		if !validID(e.Object, MaxObjectLen) || !validKind(e.Kind) || (i > 0 && !entryLess(l.Entries[i-1], e)) {
			return nil, fmt.Errorf("encode listing entry %d: %w", i, ErrMalformed)
		}
		b = append(wire.AppendText(b, e.Object), byte(e.Kind))
		b = binary.BigEndian.AppendUint64(b, e.Version)
		b = binary.BigEndian.AppendUint64(b, e.Fingerprint)
	}
	return b, nil
}

func bitmap(buckets []int) []byte {
	out := make([]byte, DigestBuckets/8)
	for b, ok := range bucketMask(buckets) {
		if ok {
			out[b/8] |= 1 << (b % 8)
		}
	}
	return out
}

func validKind(k Kind) bool { return k == KindOwner || k == KindTakedown }

func entryLess(a, b ListingEntry) bool {
	if a.Object != b.Object {
		return a.Object < b.Object
	}
	return a.Kind < b.Kind
}

// DecodeListing parses a listing from untrusted bytes; it allocates in
// proportion to the input, never to a claimed count.
func DecodeListing(b []byte) (Listing, error) {
	r := newReader(b)
	r.header(typeListing)
	var l Listing
	for i, byt := range r.Take(DigestBuckets/8, "buckets") {
		for bit := range 8 {
			if byt&(1<<bit) != 0 {
				l.Buckets = append(l.Buckets, i*8+bit)
			}
		}
	}
	n := r.U32("count")
	if n > MaxListingEntries {
		r.Fail("count")
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		l.Entries = append(l.Entries, r.listingEntry())
		if i > 0 && !entryLess(l.Entries[i-1], l.Entries[i]) {
			r.Fail("entry order")
		}
	}
	if err := r.Done(); err != nil {
		return Listing{}, fmt.Errorf("decode listing: %w", err)
	}
	return l, nil
}

func (r reader) listingEntry() ListingEntry {
	var e ListingEntry
	e.Object = r.text(MaxObjectLen, "object")
	e.Kind = Kind(r.U8("kind"))
	e.Version = r.U64("version")
	e.Fingerprint = r.U64("fingerprint")
	if r.Err() == nil && (!validID(e.Object, MaxObjectLen) || !validKind(e.Kind)) {
		r.Fail("entry")
	}
	return e
}
