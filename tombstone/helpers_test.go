package tombstone

import (
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
	"time"
)

// epoch is the fake clock's origin; tests add durations to it.
var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// keyFor derives a deterministic key pair from a label.
func keyFor(label string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("tombstone test key " + label))
	return ed25519.NewKeyFromSeed(seed[:])
}

func pub(priv ed25519.PrivateKey) ed25519.PublicKey { return priv.Public().(ed25519.PublicKey) }

var (
	ownerKey     = keyFor("owner")
	authorityKey = keyFor("authority")
	attackerKey  = keyFor("attacker")
)

const objA, objB = "bafyobjecta", "bafyobjectb"

// testKeys knows objA..objH (owned by ownerKey), the authority and
// holders h1..h5.
func testKeys() *MapKeys {
	k := &MapKeys{
		Owners:       map[string]ed25519.PublicKey{},
		AuthorityKey: pub(authorityKey),
		Holders:      map[string]ed25519.PublicKey{},
	}
	for _, o := range []string{objA, objB, "bafyc", "bafyd", "bafye", "bafyf", "bafyg", "bafyh"} {
		k.Owners[o] = pub(ownerKey)
	}
	for _, h := range holderIDs {
		k.Holders[h] = pub(keyFor(h))
	}
	return k
}

var holderIDs = []string{"h1", "h2", "h3", "h4", "h5"}

func testConfig() Config {
	c := DefaultConfig()
	c.TrashWindow = 10 * time.Second
	c.Retention = time.Hour
	c.AckTimeout = time.Minute
	return c
}

func newTestSet(t testing.TB) *Set {
	t.Helper()
	s, err := NewSet(testConfig(), testKeys())
	if err != nil {
		t.Fatalf("NewSet: %v", err)
	}
	return s
}

// signed builds and signs a tombstone; takedowns are signed by the
// authority with a reason, owner tombstones by the owner.
func signed(t testing.TB, obj string, kind Kind, version uint64, deleted bool, at time.Time) Tombstone {
	t.Helper()
	ts := Tombstone{Object: obj, Version: version, Deleted: deleted, Kind: kind, IssuedAt: at}
	key := ownerKey
	if kind == KindTakedown {
		key, ts.Reason = authorityKey, "court order 17"
	}
	if err := ts.Sign(key); err != nil {
		t.Fatalf("sign: %v", err)
	}
	return ts
}

func signedAck(t testing.TB, obj string, kind Kind, version uint64, holder string, phase Phase, at time.Time) Ack {
	t.Helper()
	a := Ack{Object: obj, Kind: kind, Version: version, Holder: holder, Phase: phase, At: at}
	if err := a.Sign(keyFor(holder)); err != nil {
		t.Fatalf("sign ack: %v", err)
	}
	return a
}

func mustApply(t testing.TB, s *Set, ts Tombstone, now time.Time) bool {
	t.Helper()
	changed, err := s.Apply(ts, now)
	if err != nil {
		t.Fatalf("Apply(%s v%d): %v", ts.Object, ts.Version, err)
	}
	return changed
}
