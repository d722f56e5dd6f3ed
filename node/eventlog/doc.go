// Package eventlog is the node's persisted event stream: an append-only,
// ordered, durable log of netstat.Event values on disk, which backup
// tools and the CLI read from a cursor and follow live.
//
// # Files
//
// The log lives in one directory as segment files named after the
// sequence of their first event, "00000000000000000001.evlog". Each
// segment starts with the 8-byte magic "CRNEVL01" followed by records:
//
//	length  uint32 big-endian  bytes of payload
//	crc     uint32 big-endian  CRC-32C of length, seq and payload
//	seq     uint64 big-endian  the event's sequence (1, 2, 3, ...)
//	payload JSON of the event (its seq field is ignored)
//
// Sequences are contiguous across segments. Only the last segment is
// written; when it reaches Config.SegmentBytes the next batch starts a
// new one. Retention deletes whole old segments, never the last one, so
// the last sequence always survives a restart.
//
// # Durability
//
// Append returns nil only after the record and everything before it has
// been written and fdatasync'ed, and, for a new segment, after the
// directory entry has been fsync'ed. Such an event survives a crash of the
// process or the machine (on a disk that honours flushes) and its Seq is
// never reused. Concurrent appends share one write and one sync (group
// commit): while one batch syncs, the next one collects.
//
// An event whose Append has not returned, or returned an error, may or
// may not be on disk after a crash. Readers and subscribers only ever see
// synced events, so nobody can hold a cursor of an event that a crash
// later discards; Open truncates a torn or unsynced tail at the first
// record whose length, checksum or sequence is wrong, and the next Append
// reuses those sequences. An error from a write or sync leaves the log
// failed: later appends return that error until it is reopened.
//
// # Reading
//
// Since reads synced events from disk after a cursor; Follow does the
// same and then hands over to live delivery without a gap or a duplicate.
// A live subscriber has a bounded buffer; one that falls behind is ended
// with ErrSubscriberTooSlow and resumes with Follow from the cursor of the
// last event it received.
//
// One process at a time may open a directory; the caller holds the
// repository lock.
package eventlog
