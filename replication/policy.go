package replication

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
)

// Limits and labels of policy records.
const (
	// MaxRootSize bounds the root block a policy carries.
	MaxRootSize     = 4096
	policySignLabel = "cairn/policy/v1\x00"
)

// Errors of owner binding.
var (
	// ErrNotBound means the object's ID commits to no owner key (an object
	// of an older format, or root bytes that do not hash to the ID).
	ErrNotBound = errors.New("replication: object id commits to no owner key")
	// ErrNotOwnerSigned means a policy's signature is not by the key the
	// object's ID commits to.
	ErrNotOwnerSigned = errors.New("replication: policy not signed by the object's owner")
)

// BindOwner returns the owner key an object's ID commits to, given the
// object's root block, or an error (wrapping ErrNotBound when there is
// none). It must be a pure function of its arguments: it hashes root and
// compares it with obj before trusting anything in it.
type BindOwner func(obj ObjectID, root []byte) (ed25519.PublicKey, error)

// Policy is the owner's signed, versioned statement of what it wants for
// one object: how many copies (Target). Only the key the object's ID
// commits to may sign it, and Root, the object's root block, lets any node
// check that binding without holding the object. Per object the highest
// Version wins; equal versions keep the smaller signature.
//
// A policy rides along with attestations (see Attestation.Policy): holders
// pass on the newest they know, and no holder can change it.
type Policy struct {
	Object    ObjectID
	Root      []byte // the object's root block, which carries the owner key
	Version   uint64 // the owner increases it with every change
	Target    int    // replicas wanted, 1..255
	Signature []byte // by the owner key, over Object, Version and Target
}

// Sign sets p.Signature with the object's owner key.
func (p *Policy) Sign(owner ed25519.PrivateKey) {
	p.Signature = ed25519.Sign(owner, p.signedBytes())
}

func (p *Policy) signedBytes() []byte {
	b := appendString([]byte(policySignLabel), string(p.Object))
	b = binary.AppendUvarint(b, p.Version)
	return binary.AppendUvarint(b, uint64(p.Target))
}

// check reports whether p is well formed; it does not verify the signature.
func (p *Policy) check() error {
	switch {
	case len(p.Object) == 0 || len(p.Object) > maxIDLen:
		return fmt.Errorf("%w: policy object id length %d", ErrMalformed, len(p.Object))
	case len(p.Root) == 0 || len(p.Root) > MaxRootSize:
		return fmt.Errorf("%w: policy root of %d bytes", ErrMalformed, len(p.Root))
	case p.Version == 0:
		return fmt.Errorf("%w: policy version 0", ErrMalformed)
	case p.Target < 1 || p.Target > maxTarget:
		return fmt.Errorf("%w: policy target %d", ErrMalformed, p.Target)
	case len(p.Signature) != ed25519.SignatureSize:
		return fmt.Errorf("%w: policy signature length %d", ErrMalformed, len(p.Signature))
	}
	return nil
}

// Verify checks that p is well formed, that its root binds an owner key
// to its object ID, and that the owner key signed it. It returns the owner
// key.
func (p *Policy) Verify(bind BindOwner) (ed25519.PublicKey, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	if bind == nil {
		return nil, fmt.Errorf("policy of %s: %w", p.Object, ErrNotBound)
	}
	owner, err := bind(p.Object, p.Root)
	if err != nil {
		return nil, fmt.Errorf("policy of %s: %w", p.Object, err)
	}
	if len(owner) != ed25519.PublicKeySize || !ed25519.Verify(owner, p.signedBytes(), p.Signature) {
		return nil, fmt.Errorf("policy of %s: %w", p.Object, ErrNotOwnerSigned)
	}
	return owner, nil
}

// supersedes reports whether p wins over q for the same object.
func (p *Policy) supersedes(q *Policy) bool {
	if q == nil {
		return true
	}
	if p.Version != q.Version {
		return p.Version > q.Version
	}
	return bytes.Compare(p.Signature, q.Signature) < 0
}

// equal reports whether p and q are the same record, byte for byte.
func (p *Policy) equal(q *Policy) bool {
	return p.Object == q.Object && p.Version == q.Version && p.Target == q.Target &&
		bytes.Equal(p.Root, q.Root) && bytes.Equal(p.Signature, q.Signature)
}

// appendPolicy encodes p (which may be nil) after an attestation.
func appendPolicy(b []byte, p *Policy) []byte {
	if p == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = appendBytes(b, p.Root)
	b = binary.AppendUvarint(b, p.Version)
	b = binary.AppendUvarint(b, uint64(p.Target))
	return append(b, p.Signature...)
}

// policy decodes what appendPolicy wrote, for the attestation of obj.
func (r *reader) policy(obj ObjectID) *Policy {
	switch r.byte() {
	case 0:
		return nil
	case 1:
	default:
		r.fail("policy flag")
		return nil
	}
	p := &Policy{Object: obj, Root: r.blob(MaxRootSize), Version: r.uvarint(), Target: r.int(maxTarget)}
	p.Signature = r.bytes(ed25519.SignatureSize)
	if r.err != nil {
		return nil
	}
	return p
}

func appendBytes(b, data []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(data)))
	return append(b, data...)
}

// blob reads a length-prefixed byte string of at most limit bytes.
func (r *reader) blob(limit uint64) []byte {
	n := r.int(limit)
	return r.bytes(n)
}
