package replication

import (
	"slices"
	"strings"
)

// SortIDs sorts ids in byte order (CID order), in place, and returns them. CIDs
// share a long prefix ("bafybei..."), which makes comparing them slow,
// so it radix-sorts by the eight bytes that follow the prefix they all
// share, and compares whole CIDs only when those are equal. Over a
// million CIDs, reading their bytes from memory costs more than the
// sort: it reads each once, in a tight loop whose reads overlap, with the
// prefix guessed from a sample and checked on the way.
func SortIDs(ids []ObjectID) []ObjectID {
	if len(ids) == 0 {
		return ids
	}
	prefix := string(ids[0])
	for _, id := range ids[:min(len(ids), 64)] {
		prefix = commonPrefix(prefix, string(id))
	}
	keys, prefix := cidKeys(ids, prefix)
	if keys == nil { // the guess was too long
		keys, _ = cidKeys(ids, prefix)
	}
	keys = radixSort(keys, make([]idKey, len(keys)))
	sortTies(keys, ids)
	permute(ids, keys)
	return ids
}

// sortTies orders the runs of equal keys by whole CID.
func sortTies(keys []idKey, ids []ObjectID) {
	for lo := 0; lo < len(keys); {
		hi := lo + 1
		for hi < len(keys) && keys[hi].key == keys[lo].key {
			hi++
		}
		if hi-lo > 1 {
			slices.SortFunc(keys[lo:hi], func(a, b idKey) int { return strings.Compare(string(ids[a.i]), string(ids[b.i])) })
		}
		lo = hi
	}
}

// permute moves ids[keys[j].i] to position j for every j, one cycle of
// moves at a time, and uses up keys.
func permute(ids []ObjectID, keys []idKey) {
	for j := range keys {
		if keys[j].i < 0 {
			continue
		}
		held, k := ids[j], j
		for {
			src := int(keys[k].i)
			keys[k].i = -1
			if src == j {
				ids[k] = held
				break
			}
			ids[k], k = ids[src], src
		}
	}
}

// idKey orders one CID, ids[i]: key holds eight bytes of it.
type idKey struct {
	key uint64
	i   int32
}

// radixSort sorts keys by key, sixteen bits at a time from the lowest,
// using tmp (as long as keys) for the moves, and returns the sorted
// slice, which is one of the two. It skips the digits all keys share.
func radixSort(keys, tmp []idKey) []idKey {
	var count [1 << 16]int
	for shift := 0; shift < 64; shift += 16 {
		clear(count[:])
		for _, k := range keys {
			count[k.key>>shift&0xffff]++
		}
		if len(keys) == 0 || count[keys[0].key>>shift&0xffff] == len(keys) {
			continue
		}
		sum := 0
		for d, c := range count {
			count[d] = sum
			sum += c
		}
		for _, k := range keys {
			d := k.key >> shift & 0xffff
			tmp[count[d]] = k
			count[d]++
		}
		keys, tmp = tmp, keys
	}
	return keys
}

// cidKeys returns the key of every CID after prefix, or nil and the
// prefix all of them share when some lack it.
func cidKeys(ids []ObjectID, prefix string) ([]idKey, string) {
	keys := make([]idKey, len(ids))
	ok := true
	for i, id := range ids {
		if !strings.HasPrefix(string(id), prefix) {
			prefix, ok = commonPrefix(prefix, string(id)), false
		}
		keys[i] = idKey{key: bytesAfter(string(id), len(prefix)), i: int32(i)}
	}
	if !ok {
		return nil, prefix
	}
	return keys, prefix
}

func commonPrefix(a, b string) string {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return a[:i]
		}
	}
	return a[:n]
}

// bytesAfter reads the eight bytes of s from off as a big-endian number,
// padding with zeros past the end of s: a shorter string sorts first.
func bytesAfter(s string, off int) uint64 {
	var k uint64
	for i := off; i < off+8; i++ {
		k <<= 8
		if i < len(s) {
			k |= uint64(s[i])
		}
	}
	return k
}
