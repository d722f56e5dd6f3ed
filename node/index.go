package node

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
	"golang.org/x/crypto/chacha20poly1305"
)

// ErrNotFound means the node has no record of an object.
var ErrNotFound = errors.New("node: object not found")

// Role says why a node keeps an object.
type Role string

// Roles an object can have on a node.
const (
	RoleOwner  Role = "owner"  // added here, by this node's owner
	RoleHolder Role = "holder" // fetched here from peers
)

// ObjectRecord is what a node remembers about one object it keeps. It is
// written only after the object's blocks are durable, so a listed object is
// complete.
type ObjectRecord struct {
	ID          string    `json:"cid"`
	Role        Role      `json:"role"`
	Encrypted   bool      `json:"encrypted"`
	Size        int64     `json:"size"` // plaintext bytes when known (owner), else stored bytes
	StoredBytes int64     `json:"stored_bytes"`
	Replicas    int       `json:"replicas,omitempty"`
	AddedAt     time.Time `json:"added_at"`
	// Catalog marks a version of the owner's catalog: owned and
	// replicated, but kept out of listings.
	Catalog bool `json:"catalog,omitempty"`
	// DAG is, for a DAG object (a public add, an import, a pin), the root
	// of the IPFS DAG it holds: the CID IPFS tools know it by.
	DAG string `json:"dag,omitempty"`
	// Sealed holds the name and capability, sealed under the owner's index
	// key, so the index on disk gives neither away.
	Sealed []byte `json:"sealed,omitempty"`
}

// ownerSecrets is the sealed part of an owner's record.
type ownerSecrets struct {
	Name       string `json:"name"`
	Capability string `json:"capability"`
}

// index stores object records in the node's datastore, durably.
type index struct {
	ds  datastore.Batching
	key atomic.Pointer[[32]byte] // the owner's index key
	// records serialises the writes of one object's record with
	// putIfAbsent's look at it, by a stripe of the object ID: a repair
	// fetch ending while the owner's recovery records the same object
	// must not turn the owner's record into a holder's. Held only over
	// one record's read and write in the local datastore, never across
	// the network, and only against writes of IDs of the same stripe.
	records [64]sync.Mutex
}

// lockRecord locks id's stripe and returns its unlock.
func (ix *index) lockRecord(id string) func() {
	h := fnv.New32a()
	h.Write([]byte(id))
	mu := &ix.records[h.Sum32()%uint32(len(ix.records))]
	mu.Lock()
	return mu.Unlock
}

// putIfAbsent records r unless a record of its object exists (owned or
// held already), and reports whether it did.
func (ix *index) putIfAbsent(ctx context.Context, r ObjectRecord) (bool, error) {
	defer ix.lockRecord(r.ID)()
	if _, err := ix.get(ctx, r.ID); err == nil {
		return false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	return true, ix.write(ctx, r)
}

func (ix *index) setKey(k [32]byte) { ix.key.Store(&k) }

func objectKey(id string) datastore.Key { return datastore.NewKey("/objects/" + id) }

func (ix *index) put(ctx context.Context, r ObjectRecord) error {
	defer ix.lockRecord(r.ID)()
	return ix.write(ctx, r)
}

func (ix *index) write(ctx context.Context, r ObjectRecord) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode record of %s: %w", r.ID, err)
	}
	if err := ix.ds.Put(ctx, objectKey(r.ID), data); err != nil {
		return fmt.Errorf("record object %s: %w", r.ID, err)
	}
	return nil
}

func (ix *index) get(ctx context.Context, id string) (ObjectRecord, error) {
	data, err := ix.ds.Get(ctx, objectKey(id))
	if errors.Is(err, datastore.ErrNotFound) {
		return ObjectRecord{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return ObjectRecord{}, fmt.Errorf("read record of %s: %w", id, err)
	}
	var r ObjectRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return ObjectRecord{}, fmt.Errorf("decode record of %s: %w", id, err)
	}
	return r, nil
}

func (ix *index) list(ctx context.Context) ([]ObjectRecord, error) {
	res, err := ix.ds.Query(ctx, query.Query{Prefix: "/objects/"})
	if err != nil {
		return nil, fmt.Errorf("list objects: %w", err)
	}
	defer res.Close()
	var out []ObjectRecord
	for e := range res.Next() {
		if e.Error != nil {
			return nil, fmt.Errorf("list objects: %w", e.Error)
		}
		var r ObjectRecord
		if err := json.Unmarshal(e.Value, &r); err != nil {
			return nil, fmt.Errorf("decode record %s: %w", e.Key, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (ix *index) seal(s ownerSecrets) ([]byte, error) {
	plain, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return ix.sealBytes(plain)
}

func (ix *index) open(sealed []byte) (ownerSecrets, error) {
	var s ownerSecrets
	plain, err := ix.openBytes(sealed)
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(plain, &s)
}

// sealBytes seals plain under the owner's index key.
func (ix *index) sealBytes(plain []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(ix.key.Load()[:])
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("generate nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, plain, nil), nil
}

// openBytes opens what sealBytes sealed.
func (ix *index) openBytes(sealed []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(ix.key.Load()[:])
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("sealed record is truncated")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
	if err != nil {
		return nil, fmt.Errorf("open sealed record: %w", err)
	}
	return plain, nil
}
