package tombstone

import (
	"fmt"
	"testing"
)

// TestBlocks: a shared block stays served while any user is live, is
// hidden once every user is deleted, served again on an undelete, and
// freed only when its last user is removed.
func TestBlocks(t *testing.T) {
	b := NewBlocks()
	deleted := map[string]bool{}
	isDeleted := func(o string) bool { return deleted[o] }
	b.Note("a", []string{"shared", "only-a"}, false)
	b.Note("b", []string{"shared", "only-b"}, false)
	hidden := func() string {
		var out []string
		for _, k := range []string{"shared", "only-a", "only-b"} {
			if b.Hidden(k) {
				out = append(out, k)
			}
		}
		return fmt.Sprint(out)
	}
	steps := []struct {
		what   string
		do     func()
		hidden string
	}{
		{"a deleted", func() { deleted["a"] = true; b.Rehide("a", isDeleted) }, "[only-a]"},
		{"b deleted", func() { deleted["b"] = true; b.Rehide("b", isDeleted) }, "[shared only-a only-b]"},
		{"a undeleted", func() { deleted["a"] = false; b.Rehide("a", isDeleted) }, "[only-b]"},
		{"c, live, noted with b's block", func() { b.Note("c", []string{"only-b"}, false) }, "[]"},
	}
	for _, s := range steps {
		s.do()
		if got := hidden(); got != s.hidden {
			t.Fatalf("after %s: hidden %s, want %s", s.what, got, s.hidden)
		}
	}
	if freed := b.Remove("a"); fmt.Sprint(freed) != "[only-a]" {
		t.Fatalf("removing a freed %v, want [only-a]", freed)
	}
	if !b.Used("shared") || b.Used("only-a") {
		t.Fatalf("used: shared %v, only-a %v", b.Used("shared"), b.Used("only-a"))
	}
}
