package tombstone

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestRefs(t *testing.T) {
	r := NewRefs()
	r.Add("o1", []string{"b1", "b2", "b3", "b2"})
	r.Add("o2", []string{"b3", "b4"})
	tests := []struct {
		remove string
		want   []string
	}{
		{"o1", []string{"b1", "b2"}}, // b3 is still used by o2
		{"o1", nil},                  // already gone
		{"o2", []string{"b3", "b4"}},
	}
	for _, tt := range tests {
		if got := r.Remove(tt.remove); !slices.Equal(got, tt.want) {
			t.Errorf("Remove(%s) = %v, want %v", tt.remove, got, tt.want)
		}
	}
	if r.Len() != 0 {
		t.Errorf("Len() = %d after removing everything, want 0", r.Len())
	}
}

// TestRefsProperty compares Refs with a brute-force model: a block is
// freed exactly when no remaining object lists it, every block of every
// object is freed exactly once, and each block's users are the objects
// that list it (one, several, and down to one again).
func TestRefsProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 200 {
		r := NewRefs()
		model := map[string][]string{}
		all := map[string]bool{}
		for i := range 20 {
			obj := fmt.Sprintf("o%d", i)
			var blocks []string
			for range rng.IntN(6) {
				blocks = append(blocks, fmt.Sprintf("b%d", rng.IntN(15)))
				all[blocks[len(blocks)-1]] = true
			}
			r.Add(obj, blocks)
			model[obj] = blocks
		}
		freedTotal := map[string]int{}
		for _, i := range rng.Perm(20) {
			obj := fmt.Sprintf("o%d", i)
			delete(model, obj)
			for _, b := range r.Remove(obj) {
				freedTotal[b]++
				if len(usersIn(model, b)) > 0 {
					t.Fatalf("trial %d: Remove(%s) freed %s which a live object still uses", trial, obj, b)
				}
			}
			for _, b := range r.objects[obj] {
				t.Fatalf("trial %d: %s still listed after Remove (block %s)", trial, obj, b)
			}
			for b := range all {
				want := usersIn(model, b)
				if got := r.Users(b); !slices.Equal(got, want) {
					t.Fatalf("trial %d: after Remove(%s), Users(%s) = %v, want %v", trial, obj, b, got, want)
				}
				if r.Used(b) != (len(want) > 0) {
					t.Fatalf("trial %d: after Remove(%s), Used(%s) = %v with users %v", trial, obj, b, r.Used(b), want)
				}
			}
		}
		for b, n := range freedTotal {
			if n != 1 {
				t.Fatalf("trial %d: block %s freed %d times, want 1", trial, b, n)
			}
		}
		if len(freedTotal) != len(all) {
			t.Fatalf("trial %d: freed %d distinct blocks, want all %d", trial, len(freedTotal), len(all))
		}
		if r.Len() != 0 {
			t.Fatalf("trial %d: %d blocks left referenced after removing all", trial, r.Len())
		}
	}
}

// usersIn is, sorted, the objects of model that list block.
func usersIn(model map[string][]string, block string) []string {
	var out []string
	for obj, blocks := range model {
		if slices.Contains(blocks, block) {
			out = append(out, obj)
		}
	}
	slices.Sort(out)
	return out
}
