package blockstore

import (
	"testing"

	"github.com/multiformats/go-multihash"
)

func TestMultihashFromFileName(t *testing.T) {
	h, _ := multihash.Sum([]byte("seed"), multihash.SHA2_256, -1)
	key := keyOf(h)
	emptyIdentity := multihash.Multihash{multihash.IDENTITY, 0}
	tests := []struct {
		name, shard, file string
		want              multihash.Multihash // nil: rejected
	}{
		{"block", "ak", "ciqbtmsyk3q4cugkqngp7sfvtmr23pioya4j4whlekz3mr3ibggqaky.blk", h},
		{"same block computed", shardOf(key), key + blockSuffix, h},
		{"identity of nothing", "aa", "aaaa.blk", emptyIdentity},
		{"wrong shard", "aa", key + blockSuffix, nil},
		{"uppercase", shardOf(key), "CIQ" + key[3:] + blockSuffix, nil},
		{"no suffix", shardOf(key), key, nil},
		{"temporary file", shardOf(key), tempPrefix + "123", nil},
		{"non-canonical trailing bits", shardOf(key), key[:len(key)-1] + "z" + blockSuffix, nil},
		{"digest missing", "iq", "ciqa.blk", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := multihashFromFileName(tt.shard, tt.file)
			if ok != (tt.want != nil) || string(got) != string(tt.want) {
				t.Errorf("multihashFromFileName(%q, %q) = %x, %v; want %x", tt.shard, tt.file, got, ok, tt.want)
			}
		})
	}
}

func TestParseVersionFile(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"cairn-blockstore/1\n", 1, false},
		{"cairn-blockstore/7", 7, false},
		{"cairn-blockstore/01", 0, true},
		{"cairn-blockstore/+1", 0, true},
		{"cairn-blockstore/0", 0, true},
		{"cairn-blockstore/", 0, true},
		{"flatfs", 0, true},
	}
	for _, tt := range tests {
		got, err := parseVersionFile([]byte(tt.in))
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("parseVersionFile(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
