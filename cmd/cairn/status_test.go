package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-fed/cairn/node"
)

// TestStatusListsTheMostUrgentFirst: `cairn status` counts every object
// and lists the first --limit of them, saying how many it left out;
// --all lists them all; a bad --limit or --all with --limit is refused
// before the daemon is asked.
func TestStatusListsTheMostUrgentFirst(t *testing.T) {
	a := initRepo(t, "a")
	startDaemon(t, a)
	var cids []string
	for i := range 3 {
		src := filepath.Join(t.TempDir(), fmt.Sprintf("doc-%d.txt", i))
		if err := os.WriteFile(src, fmt.Appendf(nil, "document %d", i), 0o600); err != nil {
			t.Fatal(err)
		}
		var added node.AddResult
		cairnJSON(t, a, &added, "add", src)
		cids = append(cids, added.CID)
	}
	rows := func(out string) int { return strings.Count(out, "bafy") }

	out := cairn(t, a, "status", "--limit", "1")
	if !strings.Contains(out, "3 objects") || rows(out) != 1 || !strings.Contains(out, "and 2 more") {
		t.Errorf("status --limit 1: want the count of 3, one row and \"and 2 more\":\n%s", out)
	}
	var page node.StatusOverview
	cairnJSON(t, a, &page, "status", "--limit", "2")
	if page.Tally.Total() != 3 || len(page.Objects) != 2 || page.Next.String() == "" {
		t.Errorf("status --limit 2 --json: %d counted, %d rows, next %q; want 3, 2 and a cursor", page.Tally.Total(), len(page.Objects), page.Next)
	}
	out = cairn(t, a, "status", "--all")
	if rows(out) != 3 || strings.Contains(out, "more") {
		t.Errorf("status --all: want every object and no \"more\":\n%s", out)
	}
	for _, c := range cids {
		if !strings.Contains(out, c) {
			t.Errorf("status --all does not list %s:\n%s", c, out)
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "--limit", "-1"}, "at least 1"},
		{[]string{"status", "--limit", "5000"}, "1000"},
		{[]string{"status", "--all", "--limit", "5"}, "leave out --limit"},
	} {
		if out, err := cairnResult(t, a, nil, tt.args...); err == nil || !strings.Contains(out, tt.want) {
			t.Errorf("cairn %s: err %v; want an error saying %q:\n%s", strings.Join(tt.args, " "), err, tt.want, out)
		}
	}
}
