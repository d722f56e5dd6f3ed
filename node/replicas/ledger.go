package replicas

import (
	"context"
	"fmt"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"

	"github.com/cairn-fed/cairn/replication"
)

// The replica ledger is kept in the node's datastore, one entry per
// (object, holder): the latest attestation, in its canonical signed form.
// On start every entry goes back through the core's ReceiveStored, which
// checks it again against the current roster.

const ledgerPrefix = "/ledger/"

// LedgerKey is where the attestation of a's holder for a's object is kept.
func LedgerKey(a replication.Attestation) datastore.Key {
	return datastore.NewKey(ledgerPrefix + string(a.Object) + "/" + string(a.Holder))
}

// Ledger keeps attestations in a datastore.
type Ledger struct {
	ds datastore.Datastore // set at construction
}

// NewLedger keeps attestations in ds.
func NewLedger(ds datastore.Datastore) Ledger { return Ledger{ds: ds} }

// Store persists an attestation the node published or accepted, replacing
// the earlier one of the same holder and object.
func (l Ledger) Store(ctx context.Context, a replication.Attestation) error {
	data, err := a.MarshalBinary()
	if err == nil {
		err = l.ds.Put(ctx, LedgerKey(a), data)
	}
	if err != nil {
		return fmt.Errorf("persist attestation of %s by %s: %w", a.Object, a.Holder, err)
	}
	return nil
}

// Each calls fn with every stored attestation that decodes, and counts
// those that do not. An error reading the datastore ends it.
func (l Ledger) Each(ctx context.Context, fn func(replication.Attestation)) (undecodable int, err error) {
	res, err := l.ds.Query(ctx, query.Query{Prefix: ledgerPrefix})
	if err != nil {
		return 0, fmt.Errorf("read replica ledger: %w", err)
	}
	defer res.Close()
	for e := range res.Next() {
		if e.Error != nil {
			return undecodable, fmt.Errorf("read replica ledger: %w", e.Error)
		}
		a, err := replication.DecodeAttestation(e.Value)
		if err != nil {
			undecodable++
			continue
		}
		fn(a)
	}
	return undecodable, nil
}
