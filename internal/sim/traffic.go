package sim

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/cairn-fed/cairn/node"
)

// Traffic counts the bytes the simulated nodes send, by kind of protocol.
// Every byte sent is received once, so sent bytes are the traffic.
type Traffic struct {
	// gossip is what spreads the federation's state: GossipSub (rosters,
	// tombstones), attestations delivered to each object's audience, and
	// ledger anti-entropy.
	gossip atomic.Int64
	other  atomic.Int64 // everything else: bitswap, DHT, challenges, identify
}

// TrafficSnapshot is the traffic counted up to one moment.
type TrafficSnapshot struct {
	Gossip, Other int64
}

// Snapshot reads the counters.
func (t *Traffic) Snapshot() TrafficSnapshot {
	return TrafficSnapshot{Gossip: t.gossip.Load(), Other: t.other.Load()}
}

// Sub returns the traffic between an earlier snapshot and s.
func (s TrafficSnapshot) Sub(earlier TrafficSnapshot) TrafficSnapshot {
	return TrafficSnapshot{Gossip: s.Gossip - earlier.Gossip, Other: s.Other - earlier.Other}
}

func (t *Traffic) counter(p protocol.ID) *atomic.Int64 {
	switch {
	case strings.HasPrefix(string(p), "/meshsub/"), p == node.AttestProtocol, p == node.LedgerSyncProtocol:
		return &t.gossip
	}
	return &t.other
}

// countingHost is a libp2p host whose streams count the bytes written on
// them and pipeline their writes (see pipelinedStream). mocknet has no
// bandwidth reporter of its own, so the streams the node opens and accepts
// are wrapped instead.
type countingHost struct {
	host.Host
	traffic *Traffic
}

func (h *countingHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	s, err := h.Host.NewStream(ctx, p, pids...)
	if err != nil {
		return nil, err
	}
	return h.wrap(s), nil
}

func (h *countingHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	h.Host.SetStreamHandler(pid, h.wrapHandler(handler))
}

func (h *countingHost) SetStreamHandlerMatch(pid protocol.ID, match func(protocol.ID) bool, handler network.StreamHandler) {
	h.Host.SetStreamHandlerMatch(pid, match, h.wrapHandler(handler))
}

func (h *countingHost) wrapHandler(handler network.StreamHandler) network.StreamHandler {
	return func(s network.Stream) { handler(h.wrap(s)) }
}

func (h *countingHost) wrap(s network.Stream) network.Stream {
	ps := &pipelinedStream{Stream: s, traffic: h.traffic}
	ps.cond = sync.NewCond(&ps.mu)
	return ps
}

// pipelinedStream counts what is written, by protocol, and pipelines it.
// A mocknet stream delivers each write of 256 bytes or more after the
// link's latency before it takes the next one, so a stream carries about
// one message per latency (12 per second at 80 ms): GossipSub's per-peer
// queues then overflow and drop messages that a real TCP connection, with
// many messages in flight, would carry. Here Write only queues; a sender
// goroutine writes everything queued so far as one write, so a stream
// carries a latency's worth of messages per round trip instead of one. A
// writer waits while maxQueued bytes are queued, as it would for a full
// TCP send buffer, so a backlogged link holds back its senders instead of
// growing the queue without bound.
//
// The sender runs only while something is queued or a close waits behind
// the queue: a sender per stream for the stream's whole life waited
// forever on every stream its owner dropped without closing (the remote
// closed it, or its connection did), 115,000 goroutines at 200 nodes,
// more than every live stream's own.
type pipelinedStream struct {
	network.Stream
	traffic *Traffic
	sending sync.WaitGroup // the sender, while one runs
	mu      sync.Mutex
	cond    *sync.Cond   // signals room in the queue
	queued  []byte       // written, not yet sent; guarded by mu
	running bool         // a sender runs; guarded by mu
	err     error        // the first failed send; guarded by mu
	closing bool         // no more writes: send what is queued and stop; guarded by mu
	closeFn func() error // called once everything queued is sent; guarded by mu
}

// maxQueued is how much one stream queues before Write waits.
const maxQueued = 1 << 20

func (s *pipelinedStream) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.queued) >= maxQueued && s.err == nil && !s.closing {
		s.cond.Wait()
	}
	if s.err != nil {
		return 0, s.err
	}
	if s.closing {
		return 0, network.ErrReset
	}
	s.queued = append(s.queued, b...)
	s.startSender()
	s.traffic.counter(s.Stream.Protocol()).Add(int64(len(b)))
	return len(b), nil
}

// startSender starts the sender unless one runs; s.mu is held.
func (s *pipelinedStream) startSender() {
	if !s.running {
		s.running = true
		s.sending.Go(s.send)
	}
}

// send writes what is queued until nothing is, then calls the pending
// close, if any, and returns; a failed write ends the stream.
func (s *pipelinedStream) send() {
	for {
		s.mu.Lock()
		chunk := s.queued
		s.queued = nil
		if len(chunk) == 0 {
			closeFn := s.closeFn
			s.closeFn, s.running = nil, false
			s.mu.Unlock()
			if closeFn != nil {
				closeFn()
			}
			return
		}
		s.cond.Broadcast() // writers waiting for room
		s.mu.Unlock()
		if _, err := s.Stream.Write(chunk); err != nil {
			s.mu.Lock()
			s.err, s.closing, s.running = err, true, false
			s.queued, s.closeFn = nil, nil
			s.cond.Broadcast()
			s.mu.Unlock()
			return
		}
	}
}

// closeAfterSend stops accepting writes and has the queued ones sent
// before the stream is closed with closeFn, as a TCP close waits behind
// the data already written without blocking the caller.
func (s *pipelinedStream) closeAfterSend(closeFn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return s.err
	}
	s.closing, s.closeFn = true, closeFn
	s.cond.Broadcast()
	s.startSender()
	return nil
}

func (s *pipelinedStream) CloseWrite() error { return s.closeAfterSend(s.Stream.CloseWrite) }

func (s *pipelinedStream) Close() error {
	s.Stream.CloseRead()
	return s.closeAfterSend(s.Stream.CloseWrite)
}

func (s *pipelinedStream) Reset() error {
	s.mu.Lock()
	s.queued, s.closing, s.closeFn = nil, true, nil
	s.cond.Broadcast()
	s.mu.Unlock()
	err := s.Stream.Reset() // unblocks a send in progress
	s.sending.Wait()        // no sender starts once closing is set
	return err
}
