package membership

import (
	"errors"
	"fmt"

	"github.com/cairn-fed/cairn/federation"
	"github.com/cairn-fed/cairn/node/repo"
)

// The federation authority key, on the node that keeps it: loaded and
// stored sealed under the owner key's passphrase, used for admin
// operations, removed to be kept offline, imported back.

// AuthorityStore keeps the authority key's text on disk; *repo.Repo is one.
type AuthorityStore interface {
	// Authority reads the key text, opening it with passphrase if it is
	// sealed; sealed reports whether it was. It returns an error wrapping
	// repo.ErrNoAuthority when there is none.
	Authority(passphrase []byte) (text string, sealed bool, err error)
	// WriteAuthority stores the key text, sealed when passphrase is set.
	WriteAuthority(text string, passphrase []byte) error
	// RemoveAuthority deletes the stored key.
	RemoveAuthority() error
}

// LoadAuthority loads the authority key if this node keeps it. A key
// stored unsealed (by a node from before keys were sealed) still loads;
// when there is a passphrase, it is sealed under it now.
func (m *Membership) LoadAuthority() error {
	text, sealed, err := m.store.Authority(m.passphrase)
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
	m.setAuthority(a)
	if !sealed && len(m.passphrase) > 0 {
		m.logger.Warn("the federation authority key was stored unsealed; sealing it under the owner key's passphrase")
		if err := m.store.WriteAuthority(text, m.passphrase); err != nil {
			m.logger.Warn("seal the authority key", "err", err)
		}
	}
	return nil
}

// StoreAuthority keeps the authority key on disk, sealed under the
// passphrase when there is one, and in memory.
func (m *Membership) StoreAuthority(a *federation.Authority) error {
	if err := m.store.WriteAuthority(federation.MarshalAuthority(a), m.passphrase); err != nil {
		return fmt.Errorf("keep the authority key: %w", err)
	}
	m.setAuthority(a)
	return nil
}

// Authority returns the authority key this node keeps, or nil.
func (m *Membership) Authority() *federation.Authority {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.authority
}

func (m *Membership) setAuthority(a *federation.Authority) {
	m.mu.Lock()
	m.authority = a
	m.mu.Unlock()
}

// AdminKey returns the authority key of cur's federation, or why an admin
// operation cannot run here.
func (m *Membership) AdminKey(cur *federation.Roster) (*federation.Authority, error) {
	if cur == nil {
		return nil, ErrNoFederation
	}
	a := m.Authority()
	if a == nil {
		return nil, fmt.Errorf("%w: run this on the node that holds it, or import it with `cairn federation import-authority FILE`", federation.ErrNoAuthority)
	}
	return a, nil
}

// RemoveAuthority deletes the authority key from this node, to be kept
// offline.
func (m *Membership) RemoveAuthority() error {
	if _, err := m.AdminKey(m.Roster()); err != nil {
		return err
	}
	if err := m.store.RemoveAuthority(); err != nil {
		return err
	}
	m.setAuthority(nil)
	return nil
}

// ImportAuthority brings an exported authority key of this node's
// federation back.
func (m *Membership) ImportAuthority(text string) error {
	r := m.Roster()
	if r == nil {
		return ErrNoFederation
	}
	a, err := federation.ParseAuthority(text)
	if err != nil {
		return fmt.Errorf("import authority key: %w", err)
	}
	if a.FederationID() != r.FederationID {
		return fmt.Errorf("key of %s, this node belongs to %s: %w", a.FederationID(), r.FederationID, federation.ErrNotAuthority)
	}
	return m.StoreAuthority(a)
}
