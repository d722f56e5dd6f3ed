package replication

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestSortIDs: sorting by the bytes after the shared prefix gives CID
// order, also when the sampled prefix is too long, when eight bytes tie
// and when one CID is a prefix of another.
func TestSortIDs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var ids []ObjectID
	for i := range 3000 {
		id := fmt.Sprintf("bafybei%s%06d", strings.Repeat("q", 40), r.IntN(5000))
		switch {
		case i%7 == 0:
			id += fmt.Sprintf("tail%d", r.IntN(3)) // ties on the first eight bytes
		case i%11 == 0:
			id = id[:len(id)-3] // shorter
		}
		ids = append(ids, ObjectID(id))
	}
	for _, more := range [][]ObjectID{nil, {"bafkrei-other-prefix", "bafybei", ""}} {
		ids := append(slices.Clone(ids), more...) // past the sample of 64
		want := slices.Clone(ids)
		slices.Sort(want)
		if got := SortIDs(ids); !slices.Equal(got, want) {
			t.Errorf("SortIDs disagrees with slices.Sort (adding %q)", more)
		}
	}
	if got := SortIDs(nil); len(got) != 0 {
		t.Errorf("SortIDs(nil) = %v", got)
	}
}
