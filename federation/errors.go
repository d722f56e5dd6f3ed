package federation

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers branch on them with errors.Is; every error
// returned by this package wraps at least one of them.
var (
	// ErrMalformed reports bytes that break an encoding: bad lengths,
	// counts, trailing bytes.
	ErrMalformed = errors.New("federation: malformed encoding")
	// ErrInvalid reports a field that breaks a roster rule: an empty or
	// unprintable name, a duplicate peer, a revoked peer still listed.
	ErrInvalid = errors.New("federation: invalid field")
	// ErrCorrupted reports a printable string (join token, authority key)
	// whose characters or checksum are wrong: it was mistyped or damaged.
	ErrCorrupted = errors.New("federation: corrupted (bad characters or checksum)")
	// ErrTruncated reports a printable string that is shorter than it
	// declares: part of it was lost when it was copied.
	ErrTruncated = errors.New("federation: truncated")
	// ErrUnsupportedVersion reports a format version this code does not know.
	ErrUnsupportedVersion = errors.New("federation: unsupported format version")
	// ErrTooLarge reports an encoding beyond the size limits.
	ErrTooLarge = errors.New("federation: too large")
	// ErrBadSignature reports a signature that does not verify, or one made
	// by a key that is not the federation's authority.
	ErrBadSignature = errors.New("federation: bad signature")
	// ErrOtherFederation reports a roster or token of another federation.
	ErrOtherFederation = errors.New("federation: belongs to another federation")
	// ErrStale reports a roster whose version is not newer than the current
	// one: a replay or a duplicate.
	ErrStale = errors.New("federation: roster is not newer than the current one")
	// ErrConflict reports two different rosters signed with the same
	// version: the authority key was used in two places at once.
	ErrConflict = errors.New("federation: two different rosters carry the same version")
	// ErrVersionJump reports a roster version implausibly far ahead of the
	// current one (more than MaxVersionJump).
	ErrVersionJump = errors.New("federation: implausible roster version jump")
	// ErrFutureRoster reports a roster issued more than MaxClockSkew ahead
	// of the local clock.
	ErrFutureRoster = errors.New("federation: roster issued in the future")
	// ErrNoCurrent reports a call to Accept without a current roster; the
	// first roster comes from a join token.
	ErrNoCurrent = errors.New("federation: no current roster")
	// ErrNoAuthority reports an operation that needs the authority key on a
	// node that does not hold it.
	ErrNoAuthority = errors.New("federation: this node does not hold the federation authority key")
	// ErrNotAuthority reports an authority key that is not the one of the
	// roster's federation.
	ErrNotAuthority = errors.New("federation: key is not this federation's authority")
	// ErrAlreadyMember reports admitting a peer (or a public key) twice.
	ErrAlreadyMember = errors.New("federation: already a member")
	// ErrRevokedPeer reports admitting a revoked peer without Readmit.
	ErrRevokedPeer = errors.New("federation: peer was revoked; re-admit it explicitly (cairn federation admit --readmit)")
	// ErrNotMember reports a peer (or operator) that is not a current member.
	ErrNotMember = errors.New("federation: not a member")
	// ErrTokenExpired reports a join token past its expiry.
	ErrTokenExpired = errors.New("federation: join token expired")
	// ErrNotForThisPeer reports a join token that admits another peer.
	ErrNotForThisPeer = errors.New("federation: join token admits another peer")
)

// RejectError says why Accept did not simply apply a candidate roster. It
// wraps one of the sentinel errors above.
type RejectError struct {
	Current   uint64 // version of the roster kept before the call
	Candidate uint64 // version the candidate claimed
	Err       error
}

func (e *RejectError) Error() string {
	return fmt.Sprintf("roster version %d rejected (current %d): %v", e.Candidate, e.Current, e.Err)
}

func (e *RejectError) Unwrap() error { return e.Err }
