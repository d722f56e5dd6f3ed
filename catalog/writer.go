package catalog

import (
	"crypto/sha256"
	"encoding/json"
	"time"
)

// CheckpointEvery is how many versions at most follow a checkpoint before
// the next: a new node walks back at most this many versions to restore.
const CheckpointEvery = 32

// WriterState is what a Writer needs to go on after a restart; the node
// keeps it sealed (the head capability opens the catalog).
type WriterState struct {
	Seq  uint64 `json:"seq"`
	Head string `json:"head,omitempty"` // capability of version Seq
	// Digest is the digest of the listing as of version Seq: when the
	// node's listing still has it after a restart, nothing changed.
	Digest          [32]byte `json:"digest"`
	SinceCheckpoint int      `json:"since_checkpoint"` // versions written since the last checkpoint
	ChangesSince    int      `json:"changes_since"`    // changes written since the last checkpoint
}

// Writer decides the next version of a catalog from the owner's current
// listing: nothing when nothing changed, the changes when they are few,
// a checkpoint when they are not or when CheckpointEvery versions passed.
type Writer struct {
	catalog string
	state   WriterState
	// listing is the listing as of version state.Seq; nil when unknown
	// (a new catalog, or changes made while the node was down), which
	// makes the next version a checkpoint.
	listing Listing
}

// NewWriter returns a writer that goes on from state (the zero state for a
// new catalog), for the catalog named by its hex key. current is the
// owner's listing now: if it is the listing the state was written from,
// the writer knows it; else its next version is a checkpoint.
func NewWriter(catalog string, state WriterState, current Listing) *Writer {
	w := &Writer{catalog: catalog, state: state}
	if state.Seq > 0 && current.Digest() == state.Digest {
		w.listing = current.Clone()
	}
	return w
}

// State returns what the node keeps to go on after a restart.
func (w *Writer) State() WriterState { return w.state }

// Next returns the version to write for the listing current at now, and
// false when there is nothing new to write.
func (w *Writer) Next(current Listing, now time.Time) (Version, bool) {
	v := Version{Format: Format, Catalog: w.catalog, Seq: w.state.Seq + 1, Time: now.UTC(), Previous: w.state.Head}
	if w.state.Seq == 0 && len(current) == 0 {
		return Version{}, false // an owner who never added anything needs no catalog
	}
	if w.listing == nil {
		v.Checkpoint, v.Entries = true, current.Entries()
		return v, true
	}
	changes := w.listing.Diff(current, v.Time)
	if len(changes) == 0 {
		return Version{}, false
	}
	if w.state.SinceCheckpoint+1 >= CheckpointEvery || w.state.ChangesSince+len(changes) > len(current) {
		v.Checkpoint, v.Entries = true, current.Entries()
		return v, true
	}
	v.Changes = changes
	return v, true
}

// Written records that v, made by Next from current, is durable under
// capability.
func (w *Writer) Written(v Version, capability string, current Listing) {
	w.state.Seq, w.state.Head = v.Seq, capability
	w.state.Digest = current.Digest()
	if v.Checkpoint {
		w.state.SinceCheckpoint, w.state.ChangesSince = 0, 0
	} else {
		w.state.SinceCheckpoint++
		w.state.ChangesSince += len(v.Changes)
	}
	w.listing = current.Clone()
}

// Digest is a hash of the listing's entries in object order.
func (l Listing) Digest() [32]byte {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, e := range l.Entries() {
		enc.Encode(e) // a hash.Hash never fails to write
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}
