package node

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/cairn-fed/cairn/replication"
)

// StatementProtocol carries a member's signed statement of its rounds
// (replication.Statement), addressed to the member it is sent to: the
// sender writes it and closes; nothing comes back. A node sends each
// connected member its own when it signs a batch, and a member that
// connects the latest addressed to it. Version 2: statements name their
// recipient.
const StatementProtocol = protocol.ID(ProtocolPrefix + "/statement/2.0.0")

// maxStatementBytes bounds a statement: a few hundred bytes per member
// listed, at most replication.MaxStatementRounds of them.
const maxStatementBytes = 128 * replication.MaxStatementRounds

// shareStatements sends each of this node's new statements to its
// recipient, when connected; one that is not gets it when it connects
// (pushStatement).
func (n *Node) shareStatements(sts []replication.Statement) {
	for _, st := range sts {
		p, err := peer.Decode(string(st.Recipient))
		if err != nil || n.net.host.Network().Connectedness(p) != network.Connected {
			continue
		}
		n.sendOwnStatement(p, st)
	}
}

// pushStatement hands a member that just connected the latest statement
// this node signed for it, so that it counts the copies this node vouches
// for without waiting for the next one.
func (n *Node) pushStatement(p peer.ID) {
	var st replication.Statement
	var ok bool
	n.repl.Read(func(c *replication.Core) { st, ok = c.LatestStatement(replication.PeerID(p.String())) })
	if ok {
		n.sendOwnStatement(p, st)
	}
}

// sendOwnStatement sends p a statement this node signed for it.
func (n *Node) sendOwnStatement(p peer.ID, st replication.Statement) {
	if !n.fed.Admits(p) {
		return
	}
	data, err := st.MarshalBinary()
	if err != nil {
		n.logger.Warn("encode own statement", "peer", p, "err", err)
		return
	}
	n.spawn(func(ctx context.Context) { n.sendStatement(ctx, p, data) })
}

func (n *Node) sendStatement(ctx context.Context, p peer.ID, data []byte) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := n.net.host.NewStream(ctx, p, StatementProtocol)
	if err != nil {
		n.logger.Debug("statement not delivered", "peer", p, "err", err)
		return
	}
	defer s.Close()
	s.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := s.Write(data); err != nil {
		s.Reset()
	}
}

// handleStatementStream records a member's statement.
func (n *Node) handleStatementStream(_ context.Context, s network.Stream) {
	defer s.Close()
	s.SetDeadline(time.Now().Add(15 * time.Second))
	from := s.Conn().RemotePeer()
	data, err := io.ReadAll(io.LimitReader(s, maxStatementBytes+1))
	if err != nil || len(data) > maxStatementBytes {
		s.Reset()
		return
	}
	st, err := replication.DecodeStatement(data)
	if err == nil && st.Verifier != replication.PeerID(from.String()) {
		// Statements travel from their verifier only: one member cannot
		// spend another's allowance by relaying its old ones.
		err = errRelayedStatement
	}
	if err == nil {
		n.repl.Do(func(c *replication.Core) { err = c.ReceiveStatement(st, time.Now()) })
	}
	switch {
	case err == nil:
	case errors.Is(err, replication.ErrReplay):
	case errors.Is(err, replication.ErrOverBound):
		n.rejected.noteOverBound(n.logger, "statement", from.String(), err, time.Now())
	default:
		n.rejected.note(n.logger, "statement", from.String(), err)
	}
}

var errRelayedStatement = errors.New("node: statement sent by another member than its verifier")
