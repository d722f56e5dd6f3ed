package blockstore

import (
	"testing"

	"github.com/multiformats/go-multihash"
)

// FuzzParseVersionFile: the VERSION file is read from disk, which anyone
// with access to the directory may have edited.
func FuzzParseVersionFile(f *testing.F) {
	for _, seed := range []string{"cairn-blockstore/1\n", "cairn-blockstore/2", "cairn-blockstore/01", "cairn-blockstore/-1", "flatfs", ""} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := parseVersionFile(data)
		if err != nil {
			return
		}
		if v < 1 {
			t.Fatalf("parseVersionFile(%q) = %d; want a positive version or an error", data, v)
		}
		if again, err := parseVersionFile(formatVersionFile(v)); err != nil || again != v {
			t.Fatalf("round trip of %d = %d, %v", v, again, err)
		}
	})
}

// FuzzMultihashFromFileName: file names come from directory listings of a
// directory that may hold anything.
func FuzzMultihashFromFileName(f *testing.F) {
	h, _ := multihash.Sum([]byte("seed"), multihash.SHA2_256, -1)
	key := keyOf(h)
	f.Add(shardOf(key), key+blockSuffix)
	f.Add("aa", "aaaa.blk")
	f.Add("ab", tempPrefix+"123")
	f.Add("zz", "ciqzz.blk")
	f.Fuzz(func(t *testing.T, shard, name string) {
		h, ok := multihashFromFileName(shard, name)
		if !ok {
			return
		}
		if _, err := multihash.Decode(h); err != nil {
			t.Fatalf("accepted %q with an invalid multihash: %v", name, err)
		}
		if key := keyOf(h); key+blockSuffix != name || shardOf(key) != shard {
			t.Fatalf("accepted %s/%s but the block's path is %s/%s%s", shard, name, shardOf(key), key, blockSuffix)
		}
	})
}
