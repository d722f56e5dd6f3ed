package netstat

import (
	"encoding/json"
	"fmt"
	"time"
)

// EventType names what happened. Its JSON form is a stable snake_case
// word; new types may be added, existing words never change.
type EventType uint8

// Event types.
const (
	EventUnknown              EventType = iota
	EventObjectAdded                    // an object became known to this node
	EventCopyVerified                   // a holder's copy passed a challenge (it did not count before)
	EventTargetReached                  // the object became backed_up
	EventCopyLost                       // a counted copy stopped counting (Detail says why)
	EventRepairStarted                  // this node started fetching a copy to repair the object
	EventRepairFinished                 // that fetch ended (Detail: "ok" or the error)
	EventTombstoneApplied               // a tombstone now deletes the object here
	EventDeletionAcknowledged           // a holder acknowledged applying a deletion
	EventPeerJoined                     // a member came online (or joined the roster)
	EventPeerLeft                       // a member went offline (or left the roster)
	EventStateChanged                   // the object's state changed (From, To)
	EventDrillFinished                  // a restore drill read the object from the other members (Detail: "ok (blocks from OPERATORS)" or why not)
	numEventTypes
)

var eventWords = [numEventTypes]string{
	"unknown", "object_added", "copy_verified", "target_reached", "copy_lost",
	"repair_started", "repair_finished", "tombstone_applied", "deletion_acknowledged",
	"peer_joined", "peer_left", "state_changed", "drill_finished",
}

// String returns the snake_case word, for example "copy_verified".
func (t EventType) String() string {
	if t < numEventTypes {
		return eventWords[t]
	}
	return eventWords[EventUnknown]
}

// MarshalText encodes the type as its word.
func (t EventType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText accepts the words String returns; unknown words decode to
// EventUnknown so that old readers survive new event types.
func (t *EventType) UnmarshalText(b []byte) error {
	*t = EventUnknown
	for i, w := range eventWords {
		if w == string(b) {
			*t = EventType(i)
		}
	}
	return nil
}

// Event is one entry of the append-only event log. The log assigns Seq
// (1, 2, 3, ...) when it persists the event; Diff leaves it 0.
type Event struct {
	Seq      uint64    `json:"seq"`
	At       time.Time `json:"at"`
	Type     EventType `json:"type"`
	Object   string    `json:"object,omitempty"`
	Peer     string    `json:"peer,omitempty"`
	Operator string    `json:"operator,omitempty"`
	Region   string    `json:"region,omitempty"`
	From     State     `json:"from,omitzero"` // state_changed only
	To       State     `json:"to,omitzero"`   // state_changed only
	Copies   int       `json:"copies,omitempty"`
	Target   int       `json:"target,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// Cursor returns the position just after this event.
func (e Event) Cursor() Cursor { return CursorAt(e.Seq) }

// eventJSON is Event plus its cursor on the wire.
type eventJSON struct {
	plainEvent
	Cursor string `json:"cursor"`
}

type plainEvent Event

// MarshalJSON adds the opaque cursor to the event's fields, so that a
// subscriber can save it and resume with --since.
func (e Event) MarshalJSON() ([]byte, error) {
	return json.Marshal(eventJSON{plainEvent(e), e.Cursor().String()})
}

// UnmarshalJSON reads what MarshalJSON writes; Seq is authoritative and
// the cursor, if present, must agree with it.
func (e *Event) UnmarshalJSON(b []byte) error {
	var w eventJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("decode event: %w", err)
	}
	if c, err := ParseCursor(w.Cursor); err != nil || (w.Cursor != "" && c.Seq() != w.Seq) {
		return fmt.Errorf("decode event %d: %w: cursor does not match seq", w.Seq, ErrMalformedCursor)
	}
	*e = Event(w.plainEvent)
	return nil
}

// Describe renders the event for people, for example
// "copy_verified bafy… on 12D3… (acme, eu)" or "peer_left 12D3… (acme)".
func (e Event) Describe() string {
	s := e.Type.String()
	switch {
	case e.Object != "" && e.Peer != "":
		s += " " + e.Object + " on " + e.Peer + e.where()
	case e.Object != "":
		s += " " + e.Object
	case e.Peer != "":
		s += " " + e.Peer + e.where()
	}
	if e.Type == EventStateChanged {
		s += ": " + e.From.String() + " -> " + e.To.String()
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e Event) where() string {
	switch {
	case e.Operator != "" && e.Region != "":
		return " (" + e.Operator + ", " + e.Region + ")"
	case e.Operator != "":
		return " (" + e.Operator + ")"
	}
	return ""
}
