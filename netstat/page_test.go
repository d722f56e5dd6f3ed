package netstat

import (
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"
)

func rowsOf(rs []Row) iter.Seq[Row] { return slices.Values(rs) }

// sampleRows returns n rows cycling through the states, in scrambled order.
func sampleRows(n int) []Row {
	states := States()
	rs := make([]Row, n)
	for i := range rs {
		j := (i * 7919) % n
		rs[i] = Row{ID: fmt.Sprintf("obj%06d", j), State: states[j%len(states)]}
	}
	return rs
}

func TestOverviewPagesCoverAllInOrder(t *testing.T) {
	v := testViewer(t)
	rows := sampleRows(1000)
	want := slices.Clone(rows)
	slices.SortFunc(want, compareRows)
	for _, size := range []int{1, 7, 100, 999, 1000} {
		var got []Row
		var cur PageCursor
		for pages := 0; ; pages++ {
			if pages > 1001 {
				t.Fatalf("size %d: pagination does not end", size)
			}
			o := v.Overview(rowsOf(rows), cur, size)
			if o.Tally.Total() != len(rows) {
				t.Fatalf("size %d: tally total = %d, want %d", size, o.Tally.Total(), len(rows))
			}
			got = append(got, o.Rows...)
			if o.Next.String() == "" {
				break
			}
			// Cursors go through their text form, as from a browser.
			var err error
			if cur, err = ParsePageCursor(o.Next.String()); err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("size %d: pages joined differ from the sorted rows (got %d rows)", size, len(got))
		}
	}
}

func TestOverviewFirstPage(t *testing.T) {
	v := testViewer(t)
	rows := []Row{{"b", StateBackedUp, 3, 3}, {"a", StateBackedUp, 3, 3}, {"z", StateLost, 0, 3},
		{"c", StateAtRisk, 1, 3}, {"d", StateAtRisk, 2, 3}}
	o := v.Overview(rowsOf(rows), PageCursor{}, 3)
	var got []string
	for _, r := range o.Rows {
		got = append(got, r.ID)
	}
	if want := []string{"z", "c", "d"}; !slices.Equal(got, want) {
		t.Errorf("first page = %v, want %v", got, want)
	}
	if o.Next.String() == "" {
		t.Errorf("first page of 5 rows by 3 has no next cursor")
	}
	if s := o.Tally.String(); s != "5 objects: 2 backed up, 2 at risk, 1 lost" {
		t.Errorf("tally = %q", s)
	}
}

func TestOverviewSizes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DefaultPageSize, cfg.MaxPageSize = 4, 6
	v, err := NewViewer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rows := sampleRows(20)
	tests := []struct{ ask, want int }{{0, 4}, {-1, 4}, {5, 5}, {100, 6}}
	for _, tt := range tests {
		if got := len(v.Overview(rowsOf(rows), PageCursor{}, tt.ask).Rows); got != tt.want {
			t.Errorf("size %d: %d rows, want %d", tt.ask, got, tt.want)
		}
	}
	empty := v.Overview(rowsOf(nil), PageCursor{}, 0)
	if empty.Rows == nil || empty.Next.String() != "" || empty.Tally.Total() != 0 {
		t.Errorf("empty overview = %+v, want no rows, no next", empty)
	}
}

func TestPageCursorRejects(t *testing.T) {
	good := PageCursor{after: Row{ID: "bafyx", State: StateAtRisk}, set: true}.String()
	tests := []struct{ name, in, why string }{
		{"event cursor", CursorAt(5).String(), "a page cursor"},
		{"garbage", "!!", "not base64url"},
		{"mistyped", mistype(good), "checksum"},
		{"bad state", sealCursor(kindPage, []byte{200, 'x'}), "bad position"},
		{"no id", sealCursor(kindPage, []byte{byte(StateLost)}), "bad position"},
	}
	for _, tt := range tests {
		_, err := ParsePageCursor(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("%s: ParsePageCursor(%q) = %v, want error mentioning %q", tt.name, tt.in, err, tt.why)
		}
	}
}
