package object

import (
	"errors"
	"testing"
)

func TestManifestRoundTrip(t *testing.T) {
	m := &manifest{encrypted: true, salt: []byte("s"), entries: []Entry{
		{Path: "d", Kind: KindDir, Mode: 0o755},
		{Path: "d/f", Kind: KindFile, Mode: 0o600, Size: 5, chunks: []chunkRef{{leaf: 0, size: 2, key: Key{1}}, {leaf: 1, size: 3, key: Key{2}}}},
		{Path: "d/empty", Kind: KindFile, Mode: 0o644},
		{Path: "d/l", Kind: KindSymlink, Mode: 0o777, Target: "../x"},
	}}
	got, err := decodeManifest(m.encode())
	if err != nil {
		t.Fatalf("decodeManifest: %v", err)
	}
	if got.leaves != 2 || len(got.entries) != 4 || got.entries[1].chunks[1].key != (Key{2}) || got.entries[3].Target != "../x" {
		t.Errorf("decoded %+v, want the encoded manifest", got)
	}
}

func TestManifestRejects(t *testing.T) {
	file := func(p string) Entry { return Entry{Path: p, Kind: KindFile} }
	tests := []struct {
		name    string
		entries []Entry
	}{
		{"absolute", []Entry{file("/etc/passwd")}},
		{"dotdot", []Entry{file("a/../../x")}},
		{"empty segment", []Entry{file("a//b")}},
		{"dot", []Entry{file("./a")}},
		{"backslash", []Entry{file(`a\b`)}},
		{"duplicate", []Entry{file("a"), file("a")}},
		{"below symlink", []Entry{{Path: "l", Kind: KindSymlink, Target: "/"}, file("l/x")}},
		{"below file", []Entry{file("f"), file("f/x")}},
		{"unknown kind", []Entry{{Path: "a", Kind: 9}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &manifest{entries: tt.entries}
			if _, err := decodeManifest(m.encode()); !errors.Is(err, ErrInvalidManifest) {
				t.Errorf("decodeManifest error = %v, want ErrInvalidManifest", err)
			}
		})
	}
}

func TestValidatePath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"a", true}, {"a/b.c", true}, {"..a", true}, {"", false}, {"/a", false},
		{"a/", false}, {"..", false}, {"a/./b", false}, {"a\x00b", false},
	}
	for _, tt := range tests {
		if got := ValidatePath(tt.path) == nil; got != tt.ok {
			t.Errorf("ValidatePath(%q) ok = %v, want %v", tt.path, got, tt.ok)
		}
	}
}
