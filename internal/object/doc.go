// Package object defines the Cairn object: how files are chunked,
// encrypted and laid out as content-addressed blocks, and how they are
// read back.
//
// An object is a dag-pb tree. Its root's Data is a small plaintext header:
//
//	"cairn" | version byte (2) | flags byte (bit 0: encrypted) |
//	manifest piece count uv | owner key (32 bytes, version 2 only)
//
// The root links to the manifest tree (link 0) and, when any file has
// data, to the data tree (link 1). Each tree is a balanced dag-pb tree of
// at most 1024 links per node whose leaves are raw blocks: sealed manifest
// pieces in the first, sealed chunks in the second. A chunk repeated
// within the object is a repeated link. All CIDs are CIDv1 with sha2-256;
// the object ID is the root CID. A root block is at most MaxRootSize.
//
// Keys, for an owner's 32-byte ContentSecret and ObjectSecret (BLAKE3
// keyed mode, each input prefixed by a domain string):
//
//	chunk key    = BLAKE3(key: content secret, "cairn chunk key v2"          || plaintext chunk)
//	manifest key = BLAKE3(key: content secret, "cairn manifest key v2"       || manifest bytes)
//	piece key i  = BLAKE3(key: manifest key,   "cairn manifest piece key v1" || uint64be(i))
//	nonce        = first 24 bytes of BLAKE3(key: that key, "cairn nonce v1")
//	gear table   = 2048 bytes of BLAKE3(key: content secret, "cairn chunker gear v2") (chunker.NewGear)
//	owner seed   = BLAKE3(key: object secret, "cairn object owner key v2" || root link 0 CID || link 1 CID)
//	owner key    = ed25519.NewKeyFromSeed(owner seed); its public half is in the header
//
// Encrypted objects cut chunks with the keyed gear table, so cut points
// depend on the owner's secret; unencrypted objects use the public table.
// Every chunk and manifest piece of an encrypted object is padded with
// zeros to its Padmé size class and sealed with XChaCha20-Poly1305 under
// its own key (padding.go):
//
//	sealed chunk = seal(chunk || zeros), min(padme(len + 16), MaxChunkSize + 16) bytes
//	sealed piece = seal(uint32be(len) || piece || zeros), padme(4 + len + 16) bytes
//
// Keys are convergent per owner: the same owner adding the same bytes gets
// the same cut points, blocks, owner key and root, while without the
// secrets nobody can predict a cut point, derive a key from a guessed
// plaintext or link two owner keys. The capability holds the root CID and
// the manifest key; the manifest holds everything else (paths, modes,
// sizes, chunk keys). OwnerKey re-derives an object's owner key for its
// owner; BoundOwner reads it from an untrusted root. See
// docs/encryption.md.
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
//
// Format version 1 (still read, never written) differs in three ways: no
// owner key in the header, the public gear table for every object, and
// no padding (a sealed chunk or piece is its plaintext + 16 bytes), with
// key domains "cairn chunk key v1" and "cairn manifest key v1".
package object
