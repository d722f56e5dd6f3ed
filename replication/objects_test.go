package replication

import (
	"fmt"
	"reflect"
	"testing"
)

// TestObjectTable: the table finds every object it holds through each
// growth of its index, under the number it gave in order of arrival,
// finds none it does not hold, and adding an object twice keeps one
// entry. With 200,000 objects some pairs of IDs share the hash bits a
// slot keeps (about five pairs expected), so the comparison of IDs
// behind a matching slot is exercised too.
func TestObjectTable(t *testing.T) {
	const n = 200_000
	var tab objectTable
	if tab.get("absent") != nil || tab.len() != 0 {
		t.Fatal("an empty table finds an object")
	}
	id := func(i int) ObjectID { return ObjectID(fmt.Sprintf("bafybeig%051d", i)) }
	for i := range n {
		num, e := tab.add(id(i))
		if num != uint32(i) || e.id != id(i) {
			t.Fatalf("add(%s) = %d, %q; want number %d", id(i), num, e.id, i)
		}
		e.lastFull = int64(i)
	}
	for i := range n {
		if num, e := tab.add(id(i)); num != uint32(i) || e.lastFull != int64(i) {
			t.Fatalf("adding %s again gave number %d, entry of %d; want its own, %d", id(i), num, e.lastFull, i)
		}
		if e := tab.get(id(i)); e != tab.at(uint32(i)) {
			t.Fatalf("get(%s) is not entry %d", id(i), i)
		}
		if e := tab.get(id(n + i)); e != nil {
			t.Fatalf("get(%s) found %s, which was never added", id(n+i), e.id)
		}
	}
	if tab.len() != n {
		t.Fatalf("len = %d after adding %d objects twice, want %d", tab.len(), n, n)
	}
	i := 0
	for e := range tab.all() {
		if e.id != id(i) {
			t.Fatalf("all yields %s at %d, want %s: the order of arrival", e.id, i, id(i))
		}
		i++
	}
}

// TestLedgerRecordSizes keeps the ledger's per-object records at the
// sizes that hold BenchmarkLedgerMemory under issue 17's 200 bytes per
// (object, holder) pair at 1,000,000 objects (187.6 when this was
// written). A field added to one of them costs every pair of a large
// ledger: make room elsewhere first, then change the size here.
//   - pair (96 bytes): three holders' pairs fill the 288-byte size class
//     exactly. Packing out its padding (92 bytes, with the 64-bit fields
//     split to align on 4) would gain nothing: from 1 to 10 holders the
//     pairs of an object fall in the same size class either way.
//   - objectEntry (80 bytes): chunkLen of them fill a 10 KiB size class.
//   - proofRec (16 bytes): six of them (two per holder) fill 96 bytes.
func TestLedgerRecordSizes(t *testing.T) {
	for _, c := range []struct {
		typ  reflect.Type
		want uintptr
	}{
		{reflect.TypeFor[pair](), 96},
		{reflect.TypeFor[objectEntry](), 80},
		{reflect.TypeFor[proofRec](), 16},
	} {
		if got := c.typ.Size(); got > c.want {
			t.Errorf("%s is %d bytes, more than %d: every record of a large ledger grows", c.typ.Name(), got, c.want)
		}
	}
}
