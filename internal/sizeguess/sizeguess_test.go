package sizeguess

import "testing"

func TestMatchingAndLongestRun(t *testing.T) {
	a := []int{5, 7, 9, 11, 13}
	tests := []struct {
		b              []int
		match, longest int
	}{
		{nil, 0, 0},
		{[]int{1, 2, 3}, 0, 0},
		{[]int{7, 9, 11}, 3, 3},
		{[]int{9, 1, 7, 11}, 3, 1},
		{[]int{5, 7, 9, 11, 13}, 5, 5},
	}
	for _, tt := range tests {
		if got := Matching(a, tt.b); got != tt.match {
			t.Errorf("Matching(%v, %v) = %d, want %d", a, tt.b, got, tt.match)
		}
		if got := LongestRun(a, tt.b); got != tt.longest {
			t.Errorf("LongestRun(%v, %v) = %d, want %d", a, tt.b, got, tt.longest)
		}
	}
}

func TestPublicChunksCoverTheFile(t *testing.T) {
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(i*7 + i>>9)
	}
	sizes, err := PublicChunks(data)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, s := range sizes {
		total += s
	}
	if total != len(data) || len(sizes) < 3 {
		t.Errorf("%d chunks of %d bytes in all, want at least 3 covering %d", len(sizes), total, len(data))
	}
}
