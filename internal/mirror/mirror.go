// Package mirror is the pure core of `cairn mirror`: the layout of a
// mirror at the user's own storage (a directory or an S3 prefix), the
// state it keeps there (which node it mirrors, the event cursor, which
// objects are present and when deleted ones are due to go) and the
// decisions of one pass: given the state, the owner's live objects as the
// daemon lists them, the keys present at the target, the deletion policy
// and the time, which objects to put, which keys to remove and how the
// state changes. It does no IO and reads no clock; the runner does both.
package mirror

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
)

// StateKey is the name of the state (the mirror's manifest) at the
// target, beside the objects.
const StateKey = ".cairn-mirror.json"

// stateVersion is the layout of StateKey this package writes.
const stateVersion = 1

// Format is how an object is stored at the target.
type Format string

// Formats.
const (
	// FormatCAR stores an object's blocks as the daemon exports them: a
	// CAR bundle, ciphertext for encrypted objects. Key CID.car.
	FormatCAR Format = "car"
	// FormatDecrypted stores an object's decrypted files as the tar
	// stream `cairn get` reads. Key CID.tar.
	FormatDecrypted Format = "tar"
)

// Key is the name an object has at the target. It is derived from the
// object ID alone, so a put repeated after a crash overwrites identical
// bytes and the target never holds an object twice. It is the only way a
// key is made: one read from the state or the daemon is never used.
func Key(id string, f Format) string { return id + "." + string(f) }

// ValidCID reports whether s is an object ID as the daemon writes it: a
// CID that cid.Decode accepts and whose String is s again. Only such IDs
// become keys, so a key is never a path, and a file of the user's at the
// target (holiday-photos.tar, cairn-snapshot-20250101T000000Z.tar) is
// never taken for an object.
func ValidCID(s string) bool {
	c, err := cid.Decode(s)
	return err == nil && c.String() == s
}

// ObjectOf returns the object ID a key names, and false for a key that
// is not an object of this format: the state, temporary files, and any
// name whose stem is not a valid CID.
func ObjectOf(key string, f Format) (string, bool) {
	id, ok := strings.CutSuffix(key, "."+string(f))
	if !ok || !ValidCID(id) {
		return "", false
	}
	return id, true
}

// Entry is one object the mirror put at the target.
type Entry struct {
	Key   string    `json:"key"`
	Name  string    `json:"name,omitempty"`
	Bytes int64     `json:"bytes"`
	PutAt time.Time `json:"put_at"`
	// DeletedAt is when the mirror saw the node delete the object; the
	// copy stays under the keep and after= policies.
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
	// RemoveAt is when an after= policy removes the copy.
	RemoveAt *time.Time `json:"remove_at,omitempty"`
}

// State is what a mirror keeps at its target: its manifest.
type State struct {
	Version int    `json:"version"`
	Node    string `json:"node"` // the peer ID of the daemon mirrored
	Format  Format `json:"format"`
	// Cursor is the event stream position every event before which is
	// reflected here.
	Cursor  string           `json:"cursor"`
	Objects map[string]Entry `json:"objects"` // by object ID
}

// Errors a caller branches on.
var (
	// ErrOtherNode means the state at the target belongs to a mirror of
	// another node.
	ErrOtherNode = errors.New("mirror: the target holds the mirror of another node")
	// ErrOtherFormat means the target holds objects in the other format.
	ErrOtherFormat = errors.New("mirror: the target holds objects in another format")
	// ErrBadState means the state at the target does not decode.
	ErrBadState = errors.New("mirror: the state at the target is not a mirror state")
)

// NewState is the state of an empty mirror of node.
func NewState(node string, f Format) *State {
	return &State{Version: stateVersion, Node: node, Format: f, Objects: map[string]Entry{}}
}

// Decode reads a state and checks it belongs to node and format f.
func Decode(b []byte, node string, f Format) (*State, error) {
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadState, err)
	}
	if s.Version != stateVersion || s.Node == "" {
		return nil, fmt.Errorf("%w: version %d, node %q", ErrBadState, s.Version, s.Node)
	}
	if s.Node != node {
		return nil, fmt.Errorf("%w: it mirrors node %s, and this daemon is node %s; mirror to another place, or move that mirror away", ErrOtherNode, s.Node, node)
	}
	if s.Format != f {
		return nil, fmt.Errorf("%w: it holds %q objects, this mirror writes %q (--decrypt writes tar, without it car)", ErrOtherFormat, s.Format, f)
	}
	if s.Objects == nil {
		s.Objects = map[string]Entry{}
	}
	for id, e := range s.Objects {
		if !ValidCID(id) || e.Key != Key(id, f) {
			return nil, fmt.Errorf("%w: it lists %q at key %q, which is not an object ID and its key: the file was altered; move %s away and run the mirror again with --adopt to rebuild it from what the target holds", ErrBadState, id, e.Key, StateKey)
		}
	}
	return &s, nil
}

// Encode writes the state, objects in a stable order.
func (s *State) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return nil, fmt.Errorf("encode mirror state: %w", err)
	}
	return append(b, '\n'), nil
}
