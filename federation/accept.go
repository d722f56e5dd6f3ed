package federation

import (
	"bytes"
	"crypto/sha256"
	"time"
)

// Accept decides which roster to keep when candidate arrives (by gossip,
// from a peer, or from the admin) while current is the latest roster this
// node has verified. It always returns the roster to keep, and an error
// (a *RejectError) saying why candidate was not simply applied:
//
//   - ErrOtherFederation, ErrBadSignature, ErrInvalid, ErrTooLarge,
//     ErrFutureRoster: candidate does not verify; current is kept.
//   - ErrStale: candidate is not newer (a replay or a duplicate).
//   - ErrVersionJump: candidate is more than MaxVersionJump ahead.
//   - ErrConflict: candidate has current's version but other contents.
//     The one whose encoding has the smaller SHA-256 is kept, so every
//     member converges on the same roster whatever the order of arrival;
//     the returned roster may then be candidate. Log it loudly: the
//     authority signed twice.
//
// A valid candidate with a higher version replaces current (nil error).
// Neither argument is modified.
func Accept(current, candidate Roster, now time.Time) (Roster, error) {
	if current.FederationID == "" {
		return current, reject(current, candidate, ErrNoCurrent)
	}
	if err := candidate.Verify(current.FederationID, now); err != nil {
		return current, reject(current, candidate, err)
	}
	switch {
	case candidate.Version > current.Version && candidate.Version-current.Version > MaxVersionJump:
		return current, reject(current, candidate, ErrVersionJump)
	case candidate.Version > current.Version:
		return candidate, nil
	case candidate.Version < current.Version:
		return current, reject(current, candidate, ErrStale)
	}
	return sameVersion(current, candidate)
}

func sameVersion(current, candidate Roster) (Roster, error) {
	a, b := current.body(), candidate.body()
	if bytes.Equal(a, b) {
		return current, reject(current, candidate, ErrStale)
	}
	ha, hb := sha256.Sum256(a), sha256.Sum256(b)
	if bytes.Compare(hb[:], ha[:]) < 0 {
		return candidate, reject(current, candidate, ErrConflict)
	}
	return current, reject(current, candidate, ErrConflict)
}

func reject(current, candidate Roster, err error) error {
	return &RejectError{Current: current.Version, Candidate: candidate.Version, Err: err}
}
