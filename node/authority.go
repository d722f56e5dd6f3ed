package node

import (
	"errors"
	"fmt"

	"github.com/cairn-fed/cairn/federation"
	"github.com/cairn-fed/cairn/node/repo"
)

// The federation authority key, on the node that keeps it: loaded and
// stored sealed under the owner key's passphrase, used for admin
// operations, removed to be kept offline, imported back.

// loadAuthority loads the authority key if this node keeps it. A key
// stored unsealed (by a node from before keys were sealed) still loads;
// when the owner key has a passphrase, it is sealed under it now.
func (n *Node) loadAuthority() error {
	text, sealed, err := n.repo.Authority(n.passphrase)
	if errors.Is(err, repo.ErrNoAuthority) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stored authority key: %w", err)
	}
	a, err := federation.ParseAuthority(text)
	if err != nil {
		return fmt.Errorf("stored authority key: %w", err)
	}
	n.fed.mu.Lock()
	n.fed.authority = a
	n.fed.mu.Unlock()
	if !sealed && len(n.passphrase) > 0 {
		n.logger.Warn("the federation authority key was stored unsealed; sealing it under the owner key's passphrase", "file", n.repo.Path(repo.AuthorityFile))
		if err := n.repo.WriteAuthority(text, n.passphrase); err != nil {
			n.logger.Warn("seal the authority key", "err", err)
		}
	}
	return nil
}

// storeAuthority keeps the authority key in the repository, sealed under
// the owner key's passphrase when there is one, and in memory.
func (n *Node) storeAuthority(a *federation.Authority) error {
	if err := n.repo.WriteAuthority(federation.MarshalAuthority(a), n.passphrase); err != nil {
		return err
	}
	n.fed.mu.Lock()
	n.fed.authority = a
	n.fed.mu.Unlock()
	return nil
}

// adminState returns the authority key of cur's federation, or why an
// admin operation cannot run here.
func (n *Node) adminState(cur *federation.Roster) (*federation.Authority, error) {
	if cur == nil {
		return nil, ErrNoFederation
	}
	n.fed.mu.Lock()
	defer n.fed.mu.Unlock()
	if n.fed.authority == nil {
		return nil, fmt.Errorf("%w: run this on the node that holds it, or import it with `cairn federation import-authority FILE`", federation.ErrNoAuthority)
	}
	return n.fed.authority, nil
}

// FederationRemoveAuthority deletes the authority key from this node, to
// be kept offline. The key itself never leaves through the node: `cairn
// federation export-authority` reads it from the repository, with the
// passphrase when it is sealed, before asking for this.
func (n *Node) FederationRemoveAuthority() error {
	if _, err := n.adminState(n.currentRoster()); err != nil {
		return err
	}
	if err := n.repo.RemoveAuthority(); err != nil {
		return err
	}
	n.fed.mu.Lock()
	n.fed.authority = nil
	n.fed.mu.Unlock()
	return nil
}

// FederationImportAuthority brings an exported authority key back.
func (n *Node) FederationImportAuthority(text string) error {
	r := n.currentRoster()
	if r == nil {
		return ErrNoFederation
	}
	a, err := federation.ParseAuthority(text)
	if err != nil {
		return err
	}
	if a.FederationID() != r.FederationID {
		return fmt.Errorf("key of %s, this node belongs to %s: %w", a.FederationID(), r.FederationID, federation.ErrNotAuthority)
	}
	return n.storeAuthority(a)
}
