package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Format is the version format this package writes and reads.
const Format = 1

// MaxVersionSize bounds a version's encoding, so a corrupt or hostile
// version cannot make a node decode without limit (64 MiB: a checkpoint of
// a few hundred thousand entries).
const MaxVersionSize = 64 << 20

// Version is one link of the catalog's chain.
type Version struct {
	Format int `json:"format"`
	// Catalog is the hex catalog key of the owner whose catalog this is.
	Catalog string    `json:"catalog"`
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	// Previous is the capability of the version before, empty for the
	// first.
	Previous string `json:"previous,omitempty"`
	// Checkpoint versions hold the whole listing in Entries and no
	// changes.
	Checkpoint bool     `json:"checkpoint,omitempty"`
	Entries    []Entry  `json:"entries,omitempty"`
	Changes    []Change `json:"changes,omitempty"`
}

// ErrOtherOwner means a version belongs to another owner's catalog.
var ErrOtherOwner = errors.New("catalog: this version belongs to another owner's catalog")

// Encode returns a version's encoding.
func (v Version) Encode() ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode catalog version %d: %w", v.Seq, err)
	}
	if len(data) > MaxVersionSize {
		return nil, fmt.Errorf("%w: version %d encodes to %d bytes, above %d", ErrMalformed, v.Seq, len(data), MaxVersionSize)
	}
	return data, nil
}

// Decode reads a version and checks it belongs to the catalog named
// (hex key) and follows the rules: versions count from 1, the first is a
// checkpoint, every later one names the one before.
func Decode(data []byte, catalog string) (Version, error) {
	if len(data) > MaxVersionSize {
		return Version{}, fmt.Errorf("%w: %d bytes, above %d", ErrMalformed, len(data), MaxVersionSize)
	}
	var v Version
	if err := json.Unmarshal(data, &v); err != nil {
		return Version{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if v.Format != Format {
		return Version{}, fmt.Errorf("%w: format %d, this cairn reads format %d", ErrMalformed, v.Format, Format)
	}
	if v.Catalog != catalog {
		return Version{}, fmt.Errorf("%w (version %d is of catalog %.16s…, the key given is of %.16s…)", ErrOtherOwner, v.Seq, v.Catalog, catalog)
	}
	return v, v.check()
}

func (v Version) check() error {
	switch {
	case v.Seq == 0:
		return fmt.Errorf("%w: version number 0", ErrMalformed)
	case v.Seq == 1 && (!v.Checkpoint || v.Previous != ""):
		return fmt.Errorf("%w: the first version must be a checkpoint and name no previous one", ErrMalformed)
	case v.Seq > 1 && v.Previous == "":
		return fmt.Errorf("%w: version %d names no previous version", ErrMalformed, v.Seq)
	case v.Checkpoint && len(v.Changes) > 0:
		return fmt.Errorf("%w: checkpoint %d holds changes", ErrMalformed, v.Seq)
	case !v.Checkpoint && len(v.Entries) > 0:
		return fmt.Errorf("%w: version %d holds entries but is no checkpoint", ErrMalformed, v.Seq)
	}
	for _, e := range v.Entries {
		if e.Object == "" {
			return fmt.Errorf("%w: checkpoint %d holds an entry without an object ID", ErrMalformed, v.Seq)
		}
	}
	return nil
}

// Reaches reports whether replaying from v (and the versions after it)
// gives the listing at time at: v is a checkpoint no later than at, or
// the first version. Walking back from the head stops at the first
// version that reaches.
func (v Version) Reaches(at time.Time) bool {
	return v.Previous == "" || (v.Checkpoint && !v.Time.After(at))
}

// Replay returns the listing at time at from a chain, oldest first, that
// starts at a version that reaches at. Versions written after at are
// ignored.
func Replay(chain []Version, at time.Time) (Listing, error) {
	if len(chain) == 0 || !chain[0].Reaches(at) {
		return nil, fmt.Errorf("%w: a replay must start at a checkpoint no later than %s", ErrMalformed, at.Format(time.RFC3339))
	}
	l := Listing{}
	for i, v := range chain {
		if i > 0 && v.Seq != chain[i-1].Seq+1 {
			return nil, fmt.Errorf("%w: version %d follows version %d", ErrMalformed, v.Seq, chain[i-1].Seq)
		}
		if v.Time.After(at) {
			break
		}
		if v.Checkpoint {
			l = Listing{}
			for _, e := range v.Entries {
				l[e.Object] = e
			}
			continue
		}
		for _, c := range v.Changes {
			if err := l.Apply(c); err != nil {
				return nil, fmt.Errorf("version %d: %w", v.Seq, err)
			}
		}
	}
	return l, nil
}
