package netstat

import (
	"container/heap"
	"iter"
	"slices"
	"strings"
)

// Row is one object in the dashboard overview.
type Row struct {
	ID     string `json:"cid"`
	State  State  `json:"state"`
	Copies int    `json:"copies"`
	Target int    `json:"target"`
}

// compareRows orders rows by state severity (most urgent first), then ID.
func compareRows(a, b Row) int {
	if d := a.State.Severity() - b.State.Severity(); d != 0 {
		return d
	}
	return strings.Compare(a.ID, b.ID)
}

// Overview is one page of the dashboard overview plus the tally of all
// objects, computed in the same pass.
type Overview struct {
	Tally Tally `json:"tally"`
	Rows  []Row `json:"rows"`
	// Next fetches the following page; zero ("") on the last page.
	Next PageCursor `json:"next"`
}

// Overview reads every row once and returns the tally and the size rows
// that follow after in (severity, ID) order. size <= 0 means
// Config.DefaultPageSize; larger than Config.MaxPageSize is capped. It
// keeps only one page in memory: O(rows × log size) time, no sort of the
// whole set. Rows whose state changes between two requests may move to a
// page already seen or still to come, as in any live listing.
func (v *Viewer) Overview(rows iter.Seq[Row], after PageCursor, size int) Overview {
	if size <= 0 {
		size = v.cfg.DefaultPageSize
	}
	size = min(size, v.cfg.MaxPageSize)
	var o Overview
	top := &pageHeap{}
	more := false
	for r := range rows {
		o.Tally.Add(r.State)
		if after.set && compareRows(r, after.after) <= 0 {
			continue
		}
		more = top.offer(r, size) || more
	}
	o.Rows = top.rows
	if o.Rows == nil {
		o.Rows = []Row{}
	}
	slices.SortFunc(o.Rows, compareRows)
	if more && len(o.Rows) > 0 {
		o.Next = PageCursor{after: o.Rows[len(o.Rows)-1], set: true}
	}
	return o
}

// pageHeap keeps the smallest rows seen, largest on top.
type pageHeap struct{ rows []Row }

// offer adds r if it belongs on the page; it reports whether a row was
// left out (r or one it displaced), which means another page follows.
func (h *pageHeap) offer(r Row, size int) (dropped bool) {
	if len(h.rows) < size {
		heap.Push(h, r)
		return false
	}
	if compareRows(r, h.rows[0]) < 0 {
		h.rows[0] = r
		heap.Fix(h, 0)
	}
	return true
}

func (h *pageHeap) Len() int           { return len(h.rows) }
func (h *pageHeap) Less(i, j int) bool { return compareRows(h.rows[i], h.rows[j]) > 0 }
func (h *pageHeap) Swap(i, j int)      { h.rows[i], h.rows[j] = h.rows[j], h.rows[i] }
func (h *pageHeap) Push(x any)         { h.rows = append(h.rows, x.(Row)) }
func (h *pageHeap) Pop() any {
	r := h.rows[len(h.rows)-1]
	h.rows = h.rows[:len(h.rows)-1]
	return r
}

// MarshalText encodes the cursor as String does.
func (c PageCursor) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText parses as ParsePageCursor does.
func (c *PageCursor) UnmarshalText(b []byte) error {
	p, err := ParsePageCursor(string(b))
	*c = p
	return err
}
