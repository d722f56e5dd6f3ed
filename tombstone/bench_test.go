package tombstone

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
)

// anyOwner says ownerKey owns every object, for benchmarks over many objects.
type anyOwner struct{ MapKeys }

func (anyOwner) ObjectOwner(string) ed25519.PublicKey { return pub(ownerKey) }

// benchObject is a CIDv1-sized (59 character) object ID.
func benchObject(i int) string { return fmt.Sprintf("bafybei%052d", i) }

// fakeRecord builds a stored record without signing (benchmarks only).
func fakeRecord(s *Set, i int, version uint64) *record {
	r := &record{version: version, issuedAt: epoch.UnixNano(), deleted: true, signer: s.intern(string(pub(ownerKey)))}
	binary.BigEndian.PutUint64(r.sig[:], uint64(i)<<8|version)
	r.fp = uint64(i)*0x9e3779b97f4a7c15 ^ version
	return r
}

// fill puts n owner tombstones, objects from offset, at version.
func fill(b *testing.B, s *Set, offset, n int, version uint64) {
	b.Helper()
	for i := offset; i < offset+n; i++ {
		s.put(benchObject(i), KindOwner, fakeRecord(s, i, version))
	}
}

// BenchmarkMerge100k merges a set of 100k tombstones (half new objects,
// half newer versions of known ones) into a set of 100k.
func BenchmarkMerge100k(b *testing.B) {
	const n = 100_000
	src := newTestSet(b)
	fill(b, src, n/2, n, 2)
	for b.Loop() {
		b.StopTimer()
		dst := newTestSet(b)
		fill(b, dst, 0, n, 1)
		b.StartTimer()
		dst.Merge(src)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/tombstone")
}

// BenchmarkApplyInto1M applies one signed tombstone (verification
// included) to a set that already holds a million.
func BenchmarkApplyInto1M(b *testing.B) {
	s, err := NewSet(testConfig(), &anyOwner{})
	if err != nil {
		b.Fatal(err)
	}
	fill(b, s, 0, 1_000_000, 1)
	msgs := make([]Tombstone, 256)
	for i := range msgs {
		msgs[i] = signed(b, benchObject(i*3901), KindOwner, 2+uint64(i), i%2 == 0, epoch)
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := s.Apply(msgs[i%len(msgs)], epoch); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkSetMemory reports heap bytes per compact owner tombstone
// (CIDv1-sized object ID, no acknowledgements), map overhead included.
func BenchmarkSetMemory(b *testing.B) {
	const n = 200_000
	var perRecord float64
	for b.Loop() {
		before := heapInUse()
		s := newTestSet(b)
		fill(b, s, 0, n, 1)
		s.Compact(epoch.Add(testConfig().Retention))
		perRecord = float64(heapInUse()-before) / n
		runtime.KeepAlive(s)
	}
	b.ReportMetric(perRecord, "bytes/record")
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkRefsMemory reports heap bytes per object kept in Refs, for
// objects of two blocks each (a small object's root and its one chunk),
// no block shared: what a node holding many small copies keeps.
func BenchmarkRefsMemory(b *testing.B) {
	const objects = 100_000
	for range b.N {
		before := heapInUse()
		r := NewRefs()
		for i := range objects {
			obj := benchObject(i)
			r.Add(obj, []string{"root" + obj[7:], "leaf" + obj[7:]})
		}
		after := heapInUse()
		b.ReportMetric(float64(after-before)/objects, "bytes/object")
		runtime.KeepAlive(r)
	}
}
