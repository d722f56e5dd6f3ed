package blockstore

import (
	"bytes"
	"encoding/base32"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

const (
	blockSuffix   = ".blk"
	tempPrefix    = ".tmp-"
	versionName   = "VERSION"
	quarantineDir = "quarantine"

	// formatVersion is the only on-disk format this code reads and writes.
	formatVersion = 1
	versionPrefix = "cairn-blockstore/"
)

// keyAlphabet is RFC 4648 base32 in lowercase, as in multibase 'b'.
const keyAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

var keyEncoding = base32.NewEncoding(keyAlphabet).WithPadding(base32.NoPadding)

// BlockKey names the block of c by its multihash, as the store keys it: a
// DAG may link one block as CIDv0 and CIDv1, or as raw and dag-pb, and
// each is the same file. It is the raw multihash bytes, for maps and
// reference counts; keyOf is its file name.
func BlockKey(c cid.Cid) string { return string(c.Hash()) }

// KeyCID is the CID the store finds the block of key (a BlockKey) under.
func KeyCID(key string) cid.Cid { return cid.NewCidV1(cid.Raw, multihash.Multihash(key)) }

// keyOf returns the file key of a multihash. A multihash has at least two
// bytes, so a key has at least four characters.
func keyOf(h multihash.Multihash) string {
	return keyEncoding.EncodeToString(h)
}

// shardOf returns the two characters before the last one of key: they
// encode digest bits, while the last character may carry only padding bits
// and the first ones encode the hash function.
func shardOf(key string) string {
	return key[len(key)-3 : len(key)-1]
}

// allShards lists every possible shard directory name, in order.
func allShards() []string {
	shards := make([]string, 0, len(keyAlphabet)*len(keyAlphabet))
	for _, a := range keyAlphabet {
		for _, b := range keyAlphabet {
			shards = append(shards, string([]rune{a, b}))
		}
	}
	return shards
}

func (s *Store) shardPath(key string) string {
	return filepath.Join(s.dir, shardOf(key))
}

func (s *Store) blockPath(key string) string {
	return filepath.Join(s.dir, shardOf(key), key+blockSuffix)
}

// multihashFromFileName decodes a block file name found in shard. It
// accepts only the canonical name of a valid multihash stored in its right
// shard: anything else is not a block Get could find.
func multihashFromFileName(shard, name string) (multihash.Multihash, bool) {
	key, ok := strings.CutSuffix(name, blockSuffix)
	if !ok || len(key) < 4 {
		return nil, false
	}
	raw, err := keyEncoding.DecodeString(key)
	if err != nil || keyOf(raw) != key || shardOf(key) != shard {
		return nil, false
	}
	h, err := multihash.Cast(raw)
	if err != nil {
		return nil, false
	}
	return h, true
}

// formatVersionFile returns the content of the VERSION file.
func formatVersionFile(version int) []byte {
	return []byte(versionPrefix + strconv.Itoa(version) + "\n")
}

// parseVersionFile decodes the content of a VERSION file.
func parseVersionFile(data []byte) (int, error) {
	text, ok := bytes.CutPrefix(bytes.TrimSpace(data), []byte(versionPrefix))
	if !ok {
		return 0, fmt.Errorf("%w: version file does not start with %q", ErrNotStore, versionPrefix)
	}
	v, err := strconv.Atoi(string(text))
	if err != nil || v < 1 || strconv.Itoa(v) != string(text) {
		return 0, fmt.Errorf("%w: malformed version %q", ErrNotStore, text)
	}
	return v, nil
}
