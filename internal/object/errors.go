package object

import "errors"

// Errors callers branch on. Each is wrapped with details of what failed.
var (
	// ErrWrongKey means the capability's key does not open the object.
	ErrWrongKey = errors.New("object: capability key does not open this object")
	// ErrNotCairnObject means the root block is not a Cairn object root.
	ErrNotCairnObject = errors.New("object: not a cairn object")
	// ErrUnsupportedVersion means the object was written by a newer format.
	ErrUnsupportedVersion = errors.New("object: unsupported format version")
	// ErrCorruptBlock means a block does not match its CID or does not
	// have the structure the format requires.
	ErrCorruptBlock = errors.New("object: corrupt block")
	// ErrInvalidManifest means the decrypted manifest is malformed.
	ErrInvalidManifest = errors.New("object: invalid manifest")
	// ErrInvalidCapability means a capability string cannot be parsed.
	ErrInvalidCapability = errors.New("object: invalid capability")
	// ErrInvalidPath means an entry path is absolute, has empty, "." or
	// ".." segments, or contains a backslash or NUL.
	ErrInvalidPath = errors.New("object: invalid entry path")
	// ErrNotObjectOwner means the owner secret given does not derive the
	// owner key in the object's root: the object is someone else's.
	ErrNotObjectOwner = errors.New("object: not this owner's object")
	// ErrNoBoundOwner means the object (format version 1) carries no
	// owner key.
	ErrNoBoundOwner = errors.New("object: object binds no owner key")
	// ErrUnsupportedDAG means a DAG uses a codec or hash function a DAG
	// object cannot hold.
	ErrUnsupportedDAG = errors.New("object: unsupported DAG")
)
