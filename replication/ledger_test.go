package replication

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// randomAttestations makes signed attestations over few objects and
// holders so that merges collide, including equal Seqs (equivocation).
func randomAttestations(r *rand.Rand, n int) []Attestation {
	var out []Attestation
	for range n {
		holder := fmt.Sprintf("h%d", r.IntN(3))
		a := Attestation{Object: ObjectID(fmt.Sprintf("o%d", r.IntN(4))), Holder: PeerID(holder),
			Seq: uint64(r.IntN(6)), IssuedAt: t0.Add(time.Duration(r.IntN(100)) * time.Second),
			Held: r.IntN(2) == 0, Target: 1 + r.IntN(3), Leaves: 1 + r.IntN(9)}
		if r.IntN(2) == 0 {
			a.Proofs = []Proof{{Peer: "zz", At: t0, Result: Result(1 + r.IntN(4))}}
		}
		a.Sign(testKey(holder))
		out = append(out, a)
	}
	return out
}

func ledgerOf(atts []Attestation) *Ledger {
	l := NewLedger()
	for _, a := range atts {
		l.Apply(a)
	}
	return l
}

// contents is a ledger's attestations in a canonical order.
func contents(l *Ledger) []string {
	var out []string
	for a := range l.All() {
		b, _ := a.MarshalBinary()
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}

func merged(ls ...*Ledger) *Ledger {
	out := NewLedger()
	for _, l := range ls {
		out.Merge(l)
	}
	return out
}

func TestLedgerMergeProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 200 {
		a := ledgerOf(randomAttestations(r, 8))
		b := ledgerOf(randomAttestations(r, 8))
		c := ledgerOf(randomAttestations(r, 8))
		checks := []struct {
			name      string
			got, want *Ledger
		}{
			{"commutative", merged(a, b), merged(b, a)},
			{"associative", merged(merged(a, b), c), merged(a, merged(b, c))},
			{"idempotent", merged(a, a), merged(a)},
		}
		for _, ch := range checks {
			if got, want := contents(ch.got), contents(ch.want); !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d: merge not %s", i, ch.name)
			}
		}
	}
}

func TestLedgerApplyOrderIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	atts := randomAttestations(r, 40)
	want := contents(ledgerOf(atts))
	for range 20 {
		r.Shuffle(len(atts), func(i, j int) { atts[i], atts[j] = atts[j], atts[i] })
		if got := contents(ledgerOf(atts)); !reflect.DeepEqual(got, want) {
			t.Fatal("ledger depends on arrival order")
		}
	}
}

// TestLedgerAntiEntropyABC: A syncs with B and goes away; B syncs with C;
// when A returns and syncs with B it learns of C's copy.
func TestLedgerAntiEntropyABC(t *testing.T) {
	mk := func(holder string, seq uint64) Attestation {
		a := Attestation{Object: "obj", Holder: PeerID(holder), Seq: seq, IssuedAt: t0, Held: true, Target: 3, Leaves: 4}
		a.Sign(testKey(holder))
		return a
	}
	a, b, c := ledgerOf([]Attestation{mk("A", 1)}), ledgerOf([]Attestation{mk("B", 1)}), ledgerOf([]Attestation{mk("C", 1)})
	exchange := func(x, y *Ledger) {
		for _, att := range x.Missing(y.Summary(), everything) {
			y.Apply(att)
		}
		for _, att := range y.Missing(x.Summary(), everything) {
			x.Apply(att)
		}
	}
	exchange(a, b)
	exchange(b, c)
	if _, ok := a.Get("obj", "C"); ok {
		t.Fatal("A knows C before syncing again")
	}
	exchange(a, b)
	if _, ok := a.Get("obj", "C"); !ok {
		t.Error("A did not learn of C through B")
	}
	if got, want := contents(a), contents(c); !reflect.DeepEqual(got, want) {
		t.Errorf("A and C differ after anti-entropy: %d vs %d entries", len(got), len(want))
	}
}

// TestMissingSendsOnlyWantedAndNewer: anti-entropy sends the records of
// wanted objects that are newer than the remote's newest of their holder,
// and nothing else.
func TestMissingSendsOnlyWantedAndNewer(t *testing.T) {
	mk := func(obj ObjectID, seq uint64) Attestation {
		a := Attestation{Object: obj, Holder: "H", Seq: seq, IssuedAt: t0, Held: true, Target: 3, Leaves: 4}
		a.Sign(testKey("H"))
		return a
	}
	full := ledgerOf([]Attestation{mk("old", 1), mk("kept", 2), mk("new", 3), mk("other", 4)})
	remote := ledgerOf([]Attestation{mk("kept", 2)})
	var got []ObjectID
	for _, a := range full.Missing(remote.Summary(), func(obj ObjectID) bool { return obj != "other" }) {
		got = append(got, a.Object)
	}
	if !reflect.DeepEqual(got, []ObjectID{"new"}) {
		t.Errorf("Missing sent %v, want [new]: newer than the remote's seq 2 and wanted", got)
	}
}

// TestMissingCoveredWalksNothing: an answer skips the walk over every
// record (coveredBy) only when the walk would send nothing: on random
// pairs of ledgers, and on a remote that has the same records or newer.
func TestMissingCoveredWalksNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	covered := 0
	for trial := range 300 {
		all := randomAttestations(r, 1+r.IntN(12))
		local, remote := ledgerOf(all[:r.IntN(len(all)+1)]), ledgerOf(all[r.IntN(len(all)+1):])
		if trial%3 == 0 {
			remote = ledgerOf(all)
		}
		theirs := map[uint32]uint64{}
		for _, h := range remote.Summary().Holders {
			if id, ok := local.peers.lookup(string(h.Holder)); ok {
				theirs[id] = h.MaxSeq
			}
		}
		if !local.coveredBy(theirs) {
			continue
		}
		covered++
		if sent := local.newerThan(theirs, everything); len(sent) != 0 {
			t.Fatalf("trial %d: covered, yet the walk finds %d records to send", trial, len(sent))
		}
		if got := local.Missing(remote.Summary(), everything); len(got) != 0 {
			t.Fatalf("trial %d: covered, yet Missing sends %d records", trial, len(got))
		}
	}
	if covered < 100 {
		t.Fatalf("only %d of 300 trials covered: the property was hardly tested", covered)
	}
}

func everything(ObjectID) bool { return true }

func TestSummaryRoundTrip(t *testing.T) {
	s := ledgerOf(randomAttestations(rand.New(rand.NewPCG(1, 1)), 10)).Summary()
	data, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeSummary(data)
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Errorf("summary round trip = %+v, %v; want %+v", got, err, s)
	}
}

func FuzzDecodeSummary(f *testing.F) {
	s := ledgerOf(randomAttestations(rand.New(rand.NewPCG(1, 1)), 10)).Summary()
	good, _ := s.MarshalBinary()
	f.Add(good)
	f.Add([]byte{2, 0})
	f.Add([]byte{2, 0xff, 0xff, 0x03})
	f.Fuzz(func(t *testing.T, data []byte) {
		if s, err := DecodeSummary(data); err == nil {
			if again, _ := s.MarshalBinary(); string(again) != string(data) {
				t.Fatal("decoded summary does not re-encode to its input")
			}
		}
	})
}

// bigLedger fills a ledger with objects × 3 holders, each carrying two
// proofs, as a federation node sees it. Signatures are not checked by
// Apply, so one signature is reused to keep setup fast.
func bigLedger(objects int) *Ledger {
	l := NewLedger()
	sig := make([]byte, 64)
	holders := []PeerID{"12D3KooWHolderAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "12D3KooWHolderBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "12D3KooWHolderCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"}
	for i := range objects {
		obj := ObjectID(fmt.Sprintf("bafybeig%051d", i)) // 59 characters, like a CIDv1
		for j, h := range holders {
			var proofs []Proof
			for k, p := range holders {
				if k != j {
					proofs = append(proofs, Proof{Peer: p, At: t0, Result: ResultPass})
				}
			}
			slices.SortFunc(proofs, func(a, b Proof) int { return strings.Compare(string(a.Peer), string(b.Peer)) })
			l.Apply(Attestation{Object: obj, Holder: h, Seq: uint64(i + 1), IssuedAt: t0, Held: true,
				Target: 3, Leaves: 1024, Proofs: proofs, Signature: sig})
		}
	}
	return l
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkLedgerMemory reports heap bytes per (object, holder) pair.
// Default size 200k objects; set -benchtime=1x and CAIRN_LEDGER_OBJECTS
// is not needed: the per-pair figure is flat in the object count.
func BenchmarkLedgerMemory(b *testing.B) {
	for _, objects := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("objects=%d", objects), func(b *testing.B) {
			if testing.Short() && objects > 100_000 {
				b.Skip("short")
			}
			for range b.N {
				before := heapInUse()
				l := bigLedger(objects)
				after := heapInUse()
				b.ReportMetric(float64(after-before)/float64(l.Len()), "bytes/pair")
				runtime.KeepAlive(l)
			}
		})
	}
}

func BenchmarkStatus(b *testing.B) {
	c := newTestCore(b, "self")
	var members []Member
	for _, h := range []PeerID{"12D3KooWHolderAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "12D3KooWHolderBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "12D3KooWHolderCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"} {
		members = append(members, Member{Peer: h, Operator: string(h), Region: "eu"})
	}
	c.SetMembers(members, t0)
	c.ledger = bigLedger(1_000_000)
	obj := ObjectID(fmt.Sprintf("bafybeig%051d", 123456))
	if st := c.Status(obj, t0); st.Copies != 3 {
		b.Fatalf("copies = %d, want 3", st.Copies)
	}
	b.ResetTimer()
	for range b.N {
		c.Status(obj, t0)
	}
}

// BenchmarkLedgerMemoryWithPolicies is BenchmarkLedgerMemory where every
// object also has its owner's policy (a root block of a realistic 150
// bytes), as every object added since format 2 has: the cost of the
// policy is per object, reported per pair to compare.
func BenchmarkLedgerMemoryWithPolicies(b *testing.B) {
	const objects = 100_000
	for range b.N {
		before := heapInUse()
		l := bigLedger(objects)
		owner := make([]byte, 32)
		for e := range l.objects.all() {
			p := Policy{Object: e.id, Root: make([]byte, 150), Version: 1, Target: 3, Signature: make([]byte, 64)}
			l.SetPolicy(p, owner)
		}
		after := heapInUse()
		b.ReportMetric(float64(after-before)/float64(l.Len()), "bytes/pair")
		runtime.KeepAlive(l)
	}
}

// TestLedgerHolderChanges: the count caches of who holds what compare
// moves whenever an applied record changes an object's held holders, and
// not when a holder's newer record only brings fresh proofs.
func TestLedgerHolderChanges(t *testing.T) {
	held := func(l *Ledger) map[string]bool {
		out := map[string]bool{}
		for a := range l.All() {
			if a.Held {
				out[string(a.Object)+"/"+string(a.Holder)] = true
			}
		}
		return out
	}
	r := rand.New(rand.NewPCG(17, 18))
	for trial := range 200 {
		l := NewLedger()
		for _, a := range randomAttestations(r, 30) {
			before, count := held(l), l.holderChanges
			l.Apply(a)
			if l.holderChanges == count && !maps.Equal(held(l), before) {
				t.Fatalf("trial %d: applying %s/%s seq %d changed the held holders and not the count", trial, a.Object, a.Holder, a.Seq)
			}
		}
	}

	l := NewLedger()
	mk := func(seq uint64, at time.Duration) Attestation {
		a := Attestation{Object: "o", Holder: "H", Seq: seq, IssuedAt: t0, Held: true, Target: 3, Leaves: 4,
			Proofs: []Proof{{Peer: "V", At: t0.Add(at), Result: ResultPass}}}
		a.Sign(testKey("H"))
		return a
	}
	l.Apply(mk(1, 0))
	count := l.holderChanges
	if !l.Apply(mk(2, time.Minute)) || l.holderChanges != count {
		t.Errorf("a newer record of the same held copy moved the count from %d to %d", count, l.holderChanges)
	}
}
