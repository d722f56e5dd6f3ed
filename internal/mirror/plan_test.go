package mirror

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multibase"
	"github.com/multiformats/go-multihash"

	"github.com/cairn-fed/cairn/netstat"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// id is the CID of a raw block holding name: tests name objects "a",
// "b", and the core sees real object IDs.
func id(name string) string {
	h, err := multihash.Sum([]byte(name), multihash.SHA2_256, -1)
	if err != nil {
		panic(err)
	}
	return cid.NewCidV1(cid.Raw, h).String()
}

// ids are the object IDs of names, in the order Decide returns them.
func ids(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, id(n))
	}
	slices.Sort(out)
	return out
}

// carKey is the key of the object named name in the CAR format.
func carKey(name string) string { return Key(id(name), FormatCAR) }

func objs(names ...string) []Object {
	var out []Object
	for _, n := range names {
		out = append(out, Object{CID: id(n), Name: "n-" + n})
	}
	return out
}

func cidsOf(os []Object) []string {
	var out []string
	for _, o := range os {
		out = append(out, o.CID)
	}
	return out
}

// stateWith is a state holding the objects named, put at t0.
func stateWith(names ...string) *State {
	s := NewState("12D3node", FormatCAR)
	for _, o := range objs(names...) {
		s.Put(o, 10, t0)
	}
	return s
}

func TestDecide(t *testing.T) {
	day := 24 * time.Hour
	after30 := Policy{Mode: After, After: 30 * day}
	for _, tc := range []struct {
		name       string
		state      *State
		in         Input
		put, rm    []string
		wantInDoc  []string // object IDs the state holds afterwards
		wantMarked []string // of them, marked deleted
	}{
		{name: "empty mirror puts every live object in order", state: stateWith(),
			in:  Input{Live: objs("b", "a"), Now: t0},
			put: []string{"a", "b"}},
		{name: "present objects are not put again", state: stateWith("a"),
			in:  Input{Live: objs("a", "b"), Now: t0},
			put: []string{"b"}, wantInDoc: []string{"a"}},
		{name: "keep marks a deleted object and keeps it", state: stateWith("a", "b"),
			in:        Input{Live: objs("a"), Policy: Policy{Mode: Keep}, Now: t0},
			wantInDoc: []string{"a", "b"}, wantMarked: []string{"b"}},
		{name: "delete removes at once", state: stateWith("a", "b"),
			in: Input{Live: objs("a"), Policy: Policy{Mode: Delete}, Now: t0},
			rm: []string{"b"}, wantInDoc: []string{"a", "b"}, wantMarked: []string{"b"}},
		{name: "after=30d waits", state: stateWith("a"),
			in:        Input{Live: nil, Policy: after30, Now: t0},
			wantInDoc: []string{"a"}, wantMarked: []string{"a"}},
		{name: "a key at the target the state lost is put again when live", state: stateWith(),
			in:  Input{Live: objs("a"), Present: []string{carKey("a"), StateKey, "." + carKey("a") + ".tmp-1"}, Now: t0},
			put: []string{"a"}},
		{name: "a key at the target the state lost is deleted now when not live", state: stateWith(),
			in: Input{Present: []string{carKey("z")}, Policy: Policy{Mode: Delete}, Now: t0},
			rm: []string{"z"}, wantInDoc: []string{"z"}, wantMarked: []string{"z"}},
		{name: "a live object missing at the target is put again", state: stateWith("a"),
			in:  Input{Live: objs("a"), Present: []string{}, Now: t0},
			put: []string{"a"}, wantInDoc: []string{"a"}},
		{name: "a deleted object missing at the target is forgotten", state: stateWith("a"),
			in: Input{Present: []string{}, Now: t0}},
		{name: "while the node catches up nothing is taken for deleted", state: stateWith("a", "b"),
			in:        Input{Live: objs("a"), Policy: Policy{Mode: Delete}, Hold: true, Now: t0},
			wantInDoc: []string{"a", "b"}},
		{name: "while the node catches up a live object is still put", state: stateWith("a"),
			in:  Input{Live: objs("a", "b"), Present: []string{carKey("a"), carKey("z")}, Policy: Policy{Mode: Delete}, Hold: true, Now: t0},
			put: []string{"b"}, wantInDoc: []string{"a", "z"}},
		{name: "keys of the other format are not objects", state: stateWith(),
			in: Input{Present: []string{Key(id("a"), FormatDecrypted)}, Policy: Policy{Mode: Delete}, Now: t0}},
		{name: "the user's own files are not objects", state: stateWith(),
			in: Input{Present: []string{"holiday-photos.car", "cairn-snapshot-20250101T000000Z.car", "notes.car",
				"bafy.car", strings.ToUpper(id("a")) + ".car", "z" + id("a") + ".car", id("a") + "x.car", "../" + carKey("a")},
				Policy: Policy{Mode: Delete}, Now: t0}},
		{name: "a live object whose ID is not a CID is left out", state: stateWith(),
			in:  Input{Live: append(objs("a"), Object{CID: "../../etc/passwd"}, Object{CID: "notacid"}), Now: t0},
			put: []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Decide(tc.state, tc.in)
			if got, want := cidsOf(p.Put), ids(tc.put...); !reflect.DeepEqual(got, want) {
				t.Errorf("put %v, want %v", got, want)
			}
			if want := ids(tc.rm...); !reflect.DeepEqual(p.Remove, want) {
				t.Errorf("remove %v, want %v", p.Remove, want)
			}
			var in, marked []string
			for _, c := range []string{"a", "b", "z"} {
				if e, ok := tc.state.Objects[id(c)]; ok {
					in = append(in, c)
					if e.DeletedAt != nil {
						marked = append(marked, c)
					}
				}
			}
			if !reflect.DeepEqual(in, tc.wantInDoc) || !reflect.DeepEqual(marked, tc.wantMarked) {
				t.Errorf("state holds %v marked %v, want %v marked %v", in, marked, tc.wantInDoc, tc.wantMarked)
			}
		})
	}
}

// TestAfterPolicyRemovesWhenDue: a copy kept under after=30d is removed
// by the first pass at or after 30 days from when the deletion was seen,
// and an undelete before then clears the mark.
func TestAfterPolicyRemovesWhenDue(t *testing.T) {
	pol := Policy{Mode: After, After: 30 * 24 * time.Hour}
	s := stateWith("a", "b")
	Decide(s, Input{Policy: pol, Now: t0})
	due, ok := s.NextRemoval()
	if !ok || !due.Equal(t0.Add(pol.After)) {
		t.Fatalf("next removal %v %v, want %v", due, ok, t0.Add(pol.After))
	}
	if p := Decide(s, Input{Live: objs("b"), Policy: pol, Now: due.Add(-time.Second)}); len(p.Remove) != 0 {
		t.Fatalf("removed %v before it was due", p.Remove)
	}
	if s.Objects[id("b")].DeletedAt != nil {
		t.Fatal("undeleted object still marked deleted")
	}
	p := Decide(s, Input{Live: objs("b"), Policy: pol, Now: due})
	if !reflect.DeepEqual(p.Remove, ids("a")) {
		t.Fatalf("remove %v at the due time, want [a]", p.Remove)
	}
	s.Removed(id("a"))
	if _, ok := s.NextRemoval(); ok {
		t.Fatal("a removal is still due after the only one was done")
	}
	if n, d := s.Counts(); n != 1 || d != 0 {
		t.Fatalf("counts %d, %d, want 1, 0", n, d)
	}
}

// TestHoldKeepsDueRemovals: a copy already due to go under after= stays
// while the node catches up, and goes on the first pass after.
func TestHoldKeepsDueRemovals(t *testing.T) {
	pol := Policy{Mode: After, After: time.Hour}
	s := stateWith("a")
	Decide(s, Input{Policy: pol, Now: t0})
	if p := Decide(s, Input{Policy: pol, Hold: true, Now: t0.Add(2 * time.Hour)}); len(p.Remove) != 0 {
		t.Fatalf("removed %v while the node catches up", p.Remove)
	}
	if p := Decide(s, Input{Policy: pol, Now: t0.Add(2 * time.Hour)}); !reflect.DeepEqual(p.Remove, ids("a")) {
		t.Fatalf("removed %v once caught up, want [a]", p.Remove)
	}
}

func TestDecideIsIdempotent(t *testing.T) {
	s := stateWith("a", "b")
	in := Input{Live: objs("b", "c"), Present: []string{carKey("a"), carKey("b")}, Policy: Policy{Mode: Keep}, Now: t0}
	first := Decide(s, in)
	for _, o := range first.Put {
		s.Put(o, 1, t0)
	}
	in.Present = append(in.Present, carKey("c"))
	if second := Decide(s, Input{Live: in.Live, Present: in.Present, Policy: in.Policy, Now: t0.Add(time.Hour)}); len(second.Put)+len(second.Remove) != 0 {
		t.Fatalf("second pass does %+v, want nothing", second)
	}
}

func TestStateRoundTripAndRefusals(t *testing.T) {
	s := stateWith("a")
	s.Cursor = "abc"
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b, "12D3node", FormatCAR)
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, got, s)
	}
	_, err = Decode(b, "12D3other", FormatCAR)
	if !errors.Is(err, ErrOtherNode) || !contains(err.Error(), "12D3node", "12D3other") {
		t.Fatalf("another node's state: %v", err)
	}
	if _, err := Decode(b, "12D3node", FormatDecrypted); !errors.Is(err, ErrOtherFormat) {
		t.Fatalf("another format: %v", err)
	}
	for _, bad := range []string{"", "{}", "[1]", `{"version":9,"node":"x"}`} {
		if _, err := Decode([]byte(bad), "x", FormatCAR); !errors.Is(err, ErrBadState) {
			t.Errorf("Decode(%q) = %v, want ErrBadState", bad, err)
		}
	}
}

// TestDecodeRefusesTamperedState: a state that lists something other
// than an object ID, or a key other than the one the ID gives, was
// altered; it is refused (saying what to do), so no key from it is ever
// used to remove a file.
func TestDecodeRefusesTamperedState(t *testing.T) {
	for _, objects := range []string{
		`{"../victim":{"key":"../victim.car"}}`,
		`{"notacid":{"key":"notacid.car"}}`,
		`{"` + id("a") + `":{"key":"../victim.txt"}}`,
		`{"` + id("a") + `":{"key":"` + carKey("b") + `"}}`,
	} {
		b := []byte(`{"version":1,"node":"x","format":"car","objects":` + objects + `}`)
		_, err := Decode(b, "x", FormatCAR)
		if !errors.Is(err, ErrBadState) || !strings.Contains(err.Error(), "--adopt") {
			t.Errorf("Decode of objects %s = %v, want ErrBadState saying what to do", objects, err)
		}
	}
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func TestParsePolicy(t *testing.T) {
	for in, want := range map[string]Policy{
		"keep": {Mode: Keep}, "delete": {Mode: Delete},
		"after=30d": {Mode: After, After: 30 * 24 * time.Hour}, "after=1h30m0s": {Mode: After, After: 90 * time.Minute},
	} {
		got, err := ParsePolicy(in)
		if err != nil || got != want || got.String() != in {
			t.Errorf("ParsePolicy(%q) = %+v %v (%s), want %+v", in, got, err, got.String(), want)
		}
	}
	for in, want := range map[string]time.Duration{
		"after=1d12h": 36 * time.Hour, "after=2d30m": 48*time.Hour + 30*time.Minute, "after=0d1h": time.Hour, "after=36h": 36 * time.Hour,
	} {
		if got, err := ParsePolicy(in); err != nil || got != (Policy{Mode: After, After: want}) {
			t.Errorf("ParsePolicy(%q) = %+v, %v, want after %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "drop", "after=", "after=-1d", "after=0s", "after=xd", "after=99999d", "after=1.5d",
		"after=1d-12h", "after=d", "after=0d", "after=1d2d", "after=+1d", "after=36500d2562047h", "after=1dx"} {
		_, err := ParsePolicy(bad)
		if err == nil {
			t.Errorf("ParsePolicy(%q) accepted", bad)
		} else if bad != "" && bad != "drop" && !strings.Contains(err.Error(), "1d12h") {
			t.Errorf("ParsePolicy(%q) = %v, want an error showing how to write it", bad, err)
		}
	}
}

func TestKeysAndRelevance(t *testing.T) {
	a := id("a")
	if k := Key(a, FormatCAR); k != a+".car" {
		t.Fatalf("Key = %q", k)
	}
	c, _ := cid.Decode(a)
	v0 := cid.NewCidV0(c.Hash()).String()
	b58, _ := c.StringOfBase(multibase.Base58BTC) // decodes, but is not how the daemon writes it
	for key, want := range map[string]bool{
		a + ".car": true, v0 + ".car": true, "." + a + ".car.tmp-1": false, StateKey: false, "x/" + a + ".car": false,
		".car": false, a + ".tar": false, "bafy.car": false, b58 + ".car": false, strings.ToUpper(a) + ".car": false,
		"holiday-photos.car": false, "cairn-snapshot-20250101T000000Z.car": false,
	} {
		if got, ok := ObjectOf(key, FormatCAR); ok != want || (ok && got+".car" != key) {
			t.Errorf("ObjectOf(%q) = %q, %v, want %v", key, got, ok, want)
		}
	}
	for ev, want := range map[netstat.Event]bool{
		{Type: netstat.EventObjectAdded}:      true,
		{Type: netstat.EventTombstoneApplied}: true,
		{Type: netstat.EventCopyVerified}:     false,
		{Type: netstat.EventStateChanged, From: netstat.StateDeleting, To: netstat.StateBackedUp}:    true,
		{Type: netstat.EventStateChanged, From: netstat.StateReplicating, To: netstat.StateBackedUp}: false,
	} {
		if got := Relevant(ev); got != want {
			t.Errorf("Relevant(%s) = %v, want %v", ev.Describe(), got, want)
		}
	}
}
