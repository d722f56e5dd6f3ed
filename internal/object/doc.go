// Package object defines the Cairn object: how files are chunked,
// encrypted and laid out as content-addressed blocks, and how they are
// read back.
//
// An object is a dag-pb tree. Its root's Data is a small plaintext header
// (magic "cairn", format version, encrypted flag, number of manifest
// pieces). The root links to the manifest tree (link 0) and, when any
// file has data, to the data tree (link 1). Each tree is a balanced
// dag-pb tree of at most 1024 links per node whose leaves are raw blocks:
// sealed manifest pieces in the first, sealed chunks in the second. A
// chunk repeated within the object is a repeated link. All CIDs are CIDv1
// with sha2-256; the object ID is the root CID.
//
// Keys, for an owner's 32-byte ContentSecret (BLAKE3 keyed mode, each
// input prefixed by a domain string):
//
//	chunk key    = BLAKE3(key: secret,       "cairn chunk key v1"          || plaintext chunk)
//	manifest key = BLAKE3(key: secret,       "cairn manifest key v1"       || manifest bytes)
//	piece key i  = BLAKE3(key: manifest key, "cairn manifest piece key v1" || uint64be(i))
//	nonce        = first 24 bytes of BLAKE3(key: that key, "cairn nonce v1")
//
// and every chunk and manifest piece is sealed with XChaCha20-Poly1305
// under its own key. Keys are convergent: the same owner adding the same
// bytes gets the same blocks and the same root, while without the secret
// nobody can derive a key from a guessed plaintext. The capability holds
// the root CID and the manifest key; the manifest holds everything else
// (paths, modes, sizes, chunk keys). See docs/encryption.md.
//
// The manifest encoding (version 1) is a byte string of unsigned varints
// (uv) and length-prefixed strings (str = uv length, bytes):
//
//	version 1 | flags (bit 0: encrypted) | salt str | entry count uv | entries
//	entry: kind byte (1 dir, 2 file, 3 symlink) | path str | mode uv |
//	  file:    size uv | first leaf uv | chunk count uv | per chunk: length uv, key (32 bytes, encrypted only)
//	  symlink: target str
//
// It is cut into 512 KiB pieces before sealing.
package object
