package tombstone

import "errors"

// Sentinel errors. Callers branch on them with errors.Is; every error
// returned by this package wraps one of them.
var (
	// ErrMalformed reports a message that breaks the wire format or the
	// structural rules (lengths, flags, kinds).
	ErrMalformed = errors.New("tombstone: malformed message")
	// ErrBadSignature reports a signature that does not verify.
	ErrBadSignature = errors.New("tombstone: bad signature")
	// ErrNotOwner reports an owner tombstone not signed by the object's owner.
	ErrNotOwner = errors.New("tombstone: signer is not the object owner")
	// ErrNotAuthority reports a takedown not signed by the federation authority.
	ErrNotAuthority = errors.New("tombstone: signer is not the federation authority")
	// ErrUnknownObject reports a message for an object whose owner (or, for
	// acknowledgements, whose tombstone) is not known here.
	ErrUnknownObject = errors.New("tombstone: unknown object")
	// ErrUnknownHolder reports an acknowledgement from a holder whose key is
	// not known here.
	ErrUnknownHolder = errors.New("tombstone: unknown holder")
	// ErrFutureTimestamp reports a timestamp further ahead of the local clock
	// than the allowed skew.
	ErrFutureTimestamp = errors.New("tombstone: timestamp in the future")
	// ErrAbsurdVersion reports a version more than Config.MaxVersionJump
	// ahead of the newest version known for the same object and kind.
	ErrAbsurdVersion = errors.New("tombstone: implausible version")
	// ErrInvalidConfig reports a Config field that is out of range.
	ErrInvalidConfig = errors.New("tombstone: invalid config")
)
