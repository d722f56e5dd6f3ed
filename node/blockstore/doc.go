// Package blockstore is Cairn's durable on-disk block store: one file per
// block, addressed by multihash, that bitswap serves from and that ingest
// writes to in batches that sync once per segment, not once per block.
//
// # Layout
//
//	dir/VERSION                  format marker ("cairn-blockstore/1")
//	dir/<shard>/<key>.blk        one block
//	dir/<shard>/.tmp-*           a block being written (never served)
//	dir/quarantine/<key>.*.blk   blocks that failed verification
//	dir/USAGE                    blocks and bytes, saved by Close, removed by Open
//
// key is the lowercase, unpadded base32 of the block's multihash, so a block
// stored under a CIDv0 or any CIDv1 codec is the same file (as in Kubo).
// shard is the two characters before the last one of the key: they come from
// the end of the digest, so blocks spread evenly over 1024 directories,
// unlike the key's first characters, which encode the constant hash code.
//
// # Write path and durability
//
// Every block is written to a fresh temporary file in its shard directory
// and renamed to its final name only once its content is durable, so a
// file under its final name always has complete, synced content and
// [Store.Has] never reports a block that a power loss could take back
// incomplete. The rename itself is then made durable by syncing the
// directory.
//
// [Store.Put] fsyncs the temporary file, renames it and fsyncs the shard
// directory before it returns. A [Batch] (and [Store.PutMany], which uses
// one) defers durability to flushes: its workers write and close
// temporary files without syncing them (asking the kernel to start writing
// them back), and every Config.FlushBytes, and at [Batch.Commit], a flush
// makes a whole segment of written files durable with one syncfs(2) of the
// store's filesystem (one fsync per file where there is no syncfs), and
// only then renames them. Commit ends with one more syncfs (or one fsync
// per touched directory), which makes the names durable. A block that is
// already present is not rewritten, but the sync still covers its
// directory, so a block reported as stored is durable even if another
// writer published it a moment earlier. Shard directories are made on
// first use, and the store's directory is synced before a block in a new
// shard counts as durable.
//
// A rename never replaces a published block (renameat2 with
// RENAME_NOREPLACE where the filesystem has it): when two writers publish
// the same block, the second finds the name taken and drops its copy.
// That is what lets the store keep a running count of its blocks and
// bytes, found by [Open]'s scan and kept by every path that makes or
// removes a name, so [Store.Usage] costs one statfs, not a walk.
//
// syncfs also writes back other files' dirty data on the same filesystem,
// so a batch's Commit may wait for another process's writes; it reports
// writeback errors that happened on that filesystem since the batch began.
//
// # What a crash can leave
//
// A process killed (kill -9) or a machine losing power at any moment can
// leave only:
//   - temporary files (".tmp-*") holding partial or complete data: a
//     block being written, or a whole segment of a batch waiting for its
//     flush. They are never read, never listed, and [Open] removes them;
//   - a block file under its final name whose rename was not yet made
//     durable (power loss only). It is either absent after restart or
//     present with its full, synced content: the content was synced before
//     the rename. A block whose batch had not committed is never reported
//     as stored, so an absent one is simply fetched or written again;
//   - published blocks of a batch that never committed (intermediate
//     flushes publish before Commit): each is complete and valid, merely
//     unreferenced until an object that uses it is stored;
//   - a quarantined file that was not moved (power loss only): it is detected
//     again on the next read.
//
// Nothing corrupt is ever served, whatever the cause (crash, bit rot, a
// filesystem bug, someone editing files): every [Store.Get] hashes the bytes
// it read with the CID's own multihash function and compares the digest
// before returning them. A mismatch returns [ErrCorruptBlock], logs once,
// and moves the file to quarantine/, so [Store.Has] then reports the block
// as missing and it can be fetched again from a peer.
//
// # Limits
//
// One process may open a directory at a time (the daemon's repository lock
// enforces it): [Open] deletes temporary files, which would break another
// process's writes in progress.
package blockstore
