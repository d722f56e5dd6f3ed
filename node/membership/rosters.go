package membership

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/federation"
)

// Join installs a join token's roster, or a newer one of the same
// federation when the node has it already.
func (m *Membership) Join(ctx context.Context, t federation.JoinToken, install Install) error {
	return m.Change(ctx, func(cur *federation.Roster) (federation.Roster, error) {
		if err := checkMemberKeys(t.Roster); err != nil {
			return federation.Roster{}, err
		}
		if cur == nil {
			return t.Roster, nil
		}
		if err := t.CheckFederation(cur.FederationID); err != nil {
			return federation.Roster{}, err
		}
		next, err := federation.Accept(*cur, t.Roster, m.now())
		if err != nil && !errors.Is(err, federation.ErrStale) {
			return federation.Roster{}, err
		}
		return next, nil
	}, install)
}

// ErrHeld is returned by Receive for a roster byte for byte the one this
// node holds: every connection brings one, and nothing of it needs
// decoding or checking again. It wraps federation.ErrStale.
var ErrHeld = fmt.Errorf("%w: this node holds that roster already", federation.ErrStale)

// Receive handles a roster that came from peer from: it is applied only
// if it verifies and is newer; anything else is counted, logged and
// returned.
func (m *Membership) Receive(ctx context.Context, data []byte, from peer.ID, install Install) error {
	if m.holds(data) {
		m.RosterRejected()
		return ErrHeld
	}
	var rejected error
	err := m.Change(ctx, func(cur *federation.Roster) (federation.Roster, error) {
		if cur == nil {
			return federation.Roster{}, ErrNoFederation
		}
		cand, err := federation.DecodeRoster(data)
		if err == nil {
			err = checkMemberKeys(cand)
		}
		if err != nil {
			m.RosterRejected()
			m.logger.Warn("rejected a malformed roster", "peer", from, "err", err)
			return federation.Roster{}, err
		}
		next, err := federation.Accept(*cur, cand, m.now())
		if err != nil {
			rejected = err
			m.RosterRejected()
			if !errors.Is(err, federation.ErrStale) { // stale: a replay, or a peer behind us
				m.logger.Warn("rejected a roster", "peer", from, "err", err)
			}
		}
		return next, nil // newer, the winner of a conflict, or the current one
	}, install)
	if err != nil {
		return err
	}
	return rejected
}

// holds reports whether data is the encoding of the installed roster.
func (m *Membership) holds(data []byte) bool {
	m.change.Lock()
	defer m.change.Unlock()
	return m.installed != nil && bytes.Equal(data, m.installed)
}
