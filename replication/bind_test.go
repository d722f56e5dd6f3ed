package replication

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
)

// Tests stand in for object roots with "root:<object>:" followed by the
// owner's 32-byte key. As a real object ID is the hash of its root, one
// object ID admits one root only: testBind accepts the root that carries
// ownerKey(obj), and no other.
const testRootPrefix = "root:"

func testRoot(obj ObjectID, owner ed25519.PublicKey) []byte {
	return append([]byte(testRootPrefix+string(obj)+":"), owner...)
}

func testBind(obj ObjectID, root []byte) (ed25519.PublicKey, error) {
	owner := ownerKey(obj).Public().(ed25519.PublicKey)
	if !bytes.Equal(root, testRoot(obj, owner)) {
		return nil, fmt.Errorf("root does not hash to %s: %w", obj, ErrNotBound)
	}
	return owner, nil
}

// ownerKey is the test owner key of obj: one per object, as the format
// derives them.
func ownerKey(obj ObjectID) ed25519.PrivateKey { return testKey("owner of " + string(obj)) }

// testPolicy is obj's policy at version, signed by its owner key.
func testPolicy(obj ObjectID, version uint64, target int) Policy {
	k := ownerKey(obj)
	p := Policy{Object: obj, Root: testRoot(obj, k.Public().(ed25519.PublicKey)), Version: version, Target: target}
	p.Sign(k)
	return p
}
