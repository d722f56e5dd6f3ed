package netstat

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/replication"
	"github.com/cairn-fed/cairn/tombstone"
)

// brief renders events compactly for comparison: "type peer detail" or
// "state_changed from->to".
func brief(es []Event) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		s := e.Type.String()
		switch {
		case e.Type == EventStateChanged || e.Type == EventObjectAdded:
			s += " " + strings.TrimPrefix(e.From.String()+"->", "unknown->") + e.To.String()
		case e.Peer != "":
			s += " " + strings.TrimSpace(e.Peer+" "+e.Detail)
		}
		out = append(out, s)
	}
	return out
}

func TestDiff(t *testing.T) {
	v := testViewer(t)
	view := func(in ObjectInput) ObjectView {
		ov, err := v.Object(in, epoch)
		if err != nil {
			t.Fatal(err)
		}
		return ov
	}
	local := view(input(3, time.Second, owner()))
	fetching := view(input(3, time.Second, owner(), unverified("p2", "opB", "eu"), unverified("p3", "opC", "us")))
	oneVerified := view(input(3, time.Second, owner(), verified("p2", "opB", "eu", 0), unverified("p3", "opC", "us")))
	backedUp := view(input(3, time.Second, owner(), verified("p2", "opB", "eu", 0), verified("p3", "opC", "us", 0)))
	reverified := view(input(3, time.Second, owner(), verified("p2", "opB", "eu", time.Second), verified("p3", "opC", "us", time.Second)))
	p3Failed := view(withFull(input(3, time.Hour, owner(), verified("p2", "opB", "eu", 0), failed("p3", "opC", "us", time.Minute)), time.Minute))
	p3Gone := view(withFull(input(3, time.Hour, owner(), verified("p2", "opB", "eu", 0)), time.Minute))
	repaired := view(withFull(input(3, time.Hour, owner(), verified("p2", "opB", "eu", 0), failed("p3", "opC", "us", time.Minute),
		verified("p4", "opD", "us", 0)), 0))
	holders := []replication.HolderStatus{owner(), verified("p2", "opB", "eu", 0), verified("p3", "opC", "us", 0)}
	deleting := view(withDeletion(input(3, time.Hour, holders...), 3, 1, 0,
		tombstone.Unconfirmed{Holder: "p2"}, tombstone.Unconfirmed{Holder: "p3"}))
	deletingAcked := view(withDeletion(input(3, time.Hour, holders[:1]...), 3, 2, 1, tombstone.Unconfirmed{Holder: "p3"}))
	deleted := view(withDeletion(input(3, time.Hour), 3, 3, 3))

	tests := []struct {
		name      string
		prev, cur ObjectView
		want      []string
	}{
		{"added", ObjectView{}, local, []string{"object_added local_only", "copy_verified p1"}},
		{"added backed up", ObjectView{}, backedUp, []string{"object_added backed_up",
			"copy_verified p1", "copy_verified p2", "copy_verified p3", "target_reached"}},
		{"nothing changed", backedUp, backedUp, nil},
		{"re-verified is no event", backedUp, reverified, nil},
		{"holders start fetching", local, fetching, []string{"state_changed local_only->replicating"}},
		{"first copy verified", fetching, oneVerified, []string{"copy_verified p2"}},
		{"target reached", oneVerified, backedUp, []string{"copy_verified p3",
			"state_changed replicating->backed_up", "target_reached"}},
		{"copy fails", backedUp, p3Failed, []string{"copy_lost p3 digest mismatch", "state_changed backed_up->at_risk"}},
		{"holder disappears", backedUp, p3Gone, []string{"copy_lost p3 holder no longer recorded", "state_changed backed_up->at_risk"}},
		{"repaired elsewhere", p3Failed, repaired, []string{"copy_verified p4", "state_changed at_risk->backed_up", "target_reached"}},
		{"tombstone applied", backedUp, deleting, []string{"tombstone_applied", "deletion_acknowledged p1",
			"state_changed backed_up->deleting"}},
		{"ack arrives, copies go", deleting, deletingAcked, []string{"deletion_acknowledged p2"}},
		{"deletion completes", deletingAcked, deleted, []string{"deletion_acknowledged p3", "state_changed deleting->deleted"}},
		{"undelete", deleting, backedUp, []string{"state_changed deleting->backed_up", "target_reached"}},
		{"object forgotten", backedUp, ObjectView{}, nil},
	}
	for _, tt := range tests {
		got := brief(Diff(tt.prev, tt.cur))
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestDiffStampsEvents(t *testing.T) {
	v := testViewer(t)
	cur, err := v.Object(input(3, time.Hour, owner(), verified("p2", "opB", "eu", 0)), epoch)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range Diff(ObjectView{}, cur) {
		if e.Seq != 0 || !e.At.Equal(epoch) || e.Object != cid || e.Target != 3 || e.Copies != 2 {
			t.Errorf("event %+v: want seq 0, at %v, object %s, copies 2 of 3", e, epoch, cid)
		}
	}
	es := Diff(ObjectView{}, cur)
	if got := es[len(es)-1]; got.Operator != "opB" || got.Region != "eu" {
		t.Errorf("copy_verified p2 operator/region = %q/%q, want opB/eu", got.Operator, got.Region)
	}
}
