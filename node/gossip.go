package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/cairn-fed/cairn/federation"
	"github.com/cairn-fed/cairn/node/membership"
)

// RosterProtocol is the stream protocol members use to hand each other
// their roster when they connect, so a member that was away catches up
// without waiting for the next gossip.
const RosterProtocol = protocol.ID(ProtocolPrefix + "/roster/1.0.0")

// maxRosterBytes bounds a roster read from a peer.
const maxRosterBytes = federation.MaxRosterSize

// startGossip starts pubsub, the roster protocol and connection tracking.
func (n *Node) startGossip(ctx context.Context) error {
	ps, err := pubsub.NewGossipSub(ctx, n.net.host, pubsub.WithFloodPublish(true))
	if err != nil {
		return fmt.Errorf("start pubsub: %w", err)
	}
	n.net.pubsub = ps
	n.handle(RosterProtocol, n.handleRosterStream)
	return nil
}

// gossipTopic is one of the federation's gossip topics, joined once.
// Its mu is held across joining, a round trip through pubsub's event
// loop, so that the topic is joined once: it is taken under membership's
// change lock (a roster's install joins both topics) and takes only work's
// lock (the subscription's follower is spawned). The data path never
// takes it.
type gossipTopic struct {
	mu    sync.Mutex
	topic *pubsub.Topic // guarded by mu; nil until joined
}

// joinOnce returns the topic, joining it with join the first time.
func (g *gossipTopic) joinOnce(join func() (*pubsub.Topic, error)) (*pubsub.Topic, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.topic == nil {
		topic, err := join()
		if err != nil {
			return nil, err
		}
		g.topic = topic
	}
	return g.topic, nil
}

// joined returns the topic, or nil before it is joined.
func (g *gossipTopic) joined() *pubsub.Topic {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.topic
}

// rosterTopic joins the federation's roster topic once and follows it.
func (n *Node) rosterTopic(federationID string) (*pubsub.Topic, error) {
	return n.net.rosters.joinOnce(func() (*pubsub.Topic, error) {
		return n.joinTopic("/cairn/"+federationID+"/roster", n.validateGossipedRoster, n.followRosters)
	})
}

// joinTopic joins a gossip topic whose messages pass validate before they
// are delivered or forwarded, and hands its subscription to follow, which
// runs until Close.
func (n *Node) joinTopic(name string, validate pubsub.ValidatorEx, follow func(context.Context, *pubsub.Subscription)) (*pubsub.Topic, error) {
	if err := n.net.pubsub.RegisterTopicValidator(name, validate); err != nil {
		return nil, fmt.Errorf("validate topic %s: %w", name, err)
	}
	topic, err := n.net.pubsub.Join(name)
	if err != nil {
		return nil, fmt.Errorf("join topic %s: %w", name, err)
	}
	sub, err := topic.Subscribe()
	if err != nil {
		return nil, fmt.Errorf("subscribe to topic %s: %w", name, err)
	}
	n.spawn(func(ctx context.Context) { follow(ctx, sub) })
	return topic, nil
}

// fromMembers reports whether the peer that handed this node msg and the
// peer that published it are both current members. The gater already
// keeps non-members off, but a member revoked or expired since it
// connected may still be connected for a moment.
func (n *Node) fromMembers(from peer.ID, msg *pubsub.Message) bool {
	r := n.currentRoster()
	if r == nil {
		return false // nothing to check against: forward nothing
	}
	now := time.Now()
	return r.IsMember(from.String(), now) && r.IsMember(msg.GetFrom().String(), now)
}

// joinDecodedTopic joins a topic whose messages decode into T. Its
// validator runs before gossip forwards anything: it takes messages only
// from members, refuses (counting them as refused messages of kind) those
// that do not decode, and asks verify for the rest, which checks the
// signature against the key allowed to make the message. receive gets
// each accepted message from another peer.
func joinDecodedTopic[T any](n *Node, name, kind string, decode func([]byte) (T, error),
	verify func(T, peer.ID) (pubsub.ValidationResult, error), receive func(context.Context, T, peer.ID)) (*pubsub.Topic, error) {
	validate := func(_ context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
		if from == n.net.host.ID() {
			return pubsub.ValidationAccept // this node's own, checked when made
		}
		if !n.fromMembers(from, msg) {
			n.rejected.note(n.logger, kind, from.String(), fmt.Errorf("gossip from %s, published by %s: %w", from, msg.GetFrom(), federation.ErrNotMember))
			return pubsub.ValidationReject
		}
		v, err := decode(msg.Data)
		if err != nil {
			n.rejected.note(n.logger, kind, from.String(), err)
			return pubsub.ValidationReject
		}
		res, err := verify(v, from)
		if res == pubsub.ValidationReject {
			n.rejected.note(n.logger, kind, from.String(), err)
		}
		return res
	}
	follow := func(ctx context.Context, sub *pubsub.Subscription) {
		defer sub.Cancel()
		for {
			msg, err := sub.Next(ctx)
			if err != nil {
				return
			}
			if msg.ReceivedFrom == n.net.host.ID() {
				continue
			}
			if v, err := decode(msg.Data); err == nil {
				receive(ctx, v, msg.ReceivedFrom)
			}
		}
	}
	return n.joinTopic(name, validate, follow)
}

// followRosters applies rosters gossiped by other members until Close.
func (n *Node) followRosters(ctx context.Context, sub *pubsub.Subscription) {
	defer sub.Cancel()
	for {
		msg, err := sub.Next(ctx)
		if err != nil {
			return
		}
		if msg.ReceivedFrom == n.net.host.ID() {
			continue
		}
		n.receiveRoster(ctx, msg.Data, msg.ReceivedFrom)
	}
}

// validateGossipedRoster lets gossip forward only rosters from members
// that this node would apply (signed by the federation's authority, newer),
// so a forged or replayed roster stops at the first honest member.
func (n *Node) validateGossipedRoster(_ context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	if from == n.net.host.ID() {
		return pubsub.ValidationAccept
	}
	cur := n.currentRoster()
	var err error
	if !n.fromMembers(from, msg) {
		err = fmt.Errorf("roster gossip from %s, published by %s: %w", from, msg.GetFrom(), federation.ErrNotMember)
	}
	var cand federation.Roster
	if err == nil {
		cand, err = federation.DecodeRoster(msg.Data)
	}
	if err == nil {
		var kept federation.Roster
		kept, err = federation.Accept(*cur, cand, time.Now())
		if err != nil && bytes.Equal(kept.Encode(), cand.Encode()) {
			err = nil // the winner of a version conflict
		}
	}
	if err != nil {
		n.fed.RosterRejected()
		if !errors.Is(err, federation.ErrStale) {
			n.logger.Warn("dropped a gossiped roster", "peer", from, "err", err)
		}
		return pubsub.ValidationReject
	}
	return pubsub.ValidationAccept
}

// onConnected hands the new peer our roster and measures its latency.
func (n *Node) pushRoster(p peer.ID) {
	r := n.currentRoster()
	if r == nil {
		return
	}
	data := r.Encode()
	n.spawn(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := n.sendRoster(ctx, p, data); err != nil {
			n.logger.Debug("send roster", "peer", p, "err", err)
		}
		select {
		case res := <-ping.Ping(ctx, n.net.host, p):
			if res.Error != nil {
				n.logger.Debug("ping", "peer", p, "err", res.Error)
			}
		case <-ctx.Done():
		}
	})
}

func (n *Node) sendRoster(ctx context.Context, p peer.ID, data []byte) error {
	s, err := n.net.host.NewStream(ctx, p, RosterProtocol)
	if err != nil {
		return err
	}
	defer s.Close()
	s.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := s.Write(data); err != nil {
		s.Reset()
		return err
	}
	return s.CloseWrite()
}

func (n *Node) handleRosterStream(ctx context.Context, s network.Stream) {
	defer s.Close()
	s.SetDeadline(time.Now().Add(15 * time.Second))
	data, err := io.ReadAll(io.LimitReader(s, maxRosterBytes+1))
	if err != nil || len(data) > maxRosterBytes {
		s.Reset()
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	from := s.Conn().RemotePeer()
	if err := n.receiveRoster(ctx, data, from); errors.Is(err, membership.ErrHeld) {
		return
	}
	// A member that sent an older roster of this federation is behind (it
	// joined with an old token while already connected, say): it gets
	// this node's in return, one roster for each it sends.
	if cand, err := federation.DecodeRoster(data); err == nil {
		if cur := n.currentRoster(); cur != nil && cand.FederationID == cur.FederationID && cand.Version < cur.Version {
			n.pushRoster(from)
		}
	}
}

// lastSeen tells when a peer was last connected.
func (n *Node) lastSeen(p peer.ID) (time.Time, bool) { return n.fed.LastSeen(p) }
