package node

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-datastore"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/cairn-fed/cairn/catalog"
	"github.com/cairn-fed/cairn/internal/wire"
)

// CatalogProtocol carries catalog heads between members: one request
// frame (a head the sender publishes, or a catalog key it asks about) and
// one reply frame.
const CatalogProtocol = protocol.ID(ProtocolPrefix + "/catalog/1.0.0")

// Limits of the catalog protocol.
const (
	maxCatalogFrame = 4 << 10
	catalogTimeout  = 15 * time.Second
)

const headsPrefix = "/catalog/heads/"

// catalogRequest is a catalog protocol request: exactly one of Put and
// Get.
type catalogRequest struct {
	Put *catalog.Head `json:"put,omitempty"`
	Get []byte        `json:"get,omitempty"` // a catalog key
}

// catalogReply answers a request: the head asked for, if kept, or why a
// published head was refused.
type catalogReply struct {
	Head  *catalog.Head `json:"head,omitempty"`
	Error string        `json:"error,omitempty"`
}

// storedHead is a kept head as the datastore holds it.
type storedHead struct {
	Head      catalog.Head `json:"head"`
	Publisher string       `json:"publisher"`
}

// startCatalog restores the kept heads, serves the catalog protocol, sends
// this owner's head to every member that connects, and starts writing the
// catalog.
func (n *Node) startCatalog(ctx context.Context) error {
	n.cat.heads = catalog.NewHeads()
	n.cat.changes++ // the listing may have changed while the node was down
	// The first version waits an interval after the start like any other:
	// a restart alone writes nothing, and a fresh node batches its first
	// adds.
	n.cat.lastWritten = time.Now()
	n.cat.held = n.restored()
	// A stored head that no longer verifies (a clock stepped back) or is
	// over its publisher's bound is skipped with a warning: the members
	// send their heads again on connection.
	err := n.eachStored(ctx, headsPrefix, func(_ string, v []byte) error {
		var s storedHead
		if err := json.Unmarshal(v, &s); err != nil {
			return err
		}
		_, err := n.cat.heads.Offer(s.Head, s.Publisher, time.Now())
		return err
	})
	if err != nil {
		return err
	}
	n.handle(CatalogProtocol, n.handleCatalogStream)
	n.spawn(n.catalogLoop)
	return nil
}

// ownHead returns the latest head of this owner's catalog.
func (n *Node) ownHead() (catalog.Head, bool) {
	pub := n.ownerKeys().CatalogKey().Public().(ed25519.PublicKey)
	n.cat.mu.Lock()
	defer n.cat.mu.Unlock()
	if n.cat.heads == nil {
		return catalog.Head{}, false
	}
	return n.cat.heads.Get(pub)
}

// offerHead keeps h if it is valid and newer than the head kept, and
// stores it durably.
func (n *Node) offerHead(ctx context.Context, h catalog.Head, publisher string) (bool, error) {
	n.cat.mu.Lock()
	changed, err := n.cat.heads.Offer(h, publisher, time.Now())
	n.cat.mu.Unlock()
	if err != nil || !changed {
		return false, err
	}
	return true, n.storeKeptHead(ctx, h.Catalog)
}

// storeKeptHead writes the head kept for a catalog key to the datastore.
// Two offers of one key may race to write: each writes what is kept when
// it writes, and writes again if a newer head arrived meanwhile, so the
// newest is stored last.
func (n *Node) storeKeptHead(ctx context.Context, key []byte) error {
	for {
		n.cat.mu.Lock()
		h, publisher, ok := n.cat.heads.GetWithPublisher(key)
		n.cat.mu.Unlock()
		if !ok {
			return nil
		}
		data, err := json.Marshal(storedHead{Head: h, Publisher: publisher})
		if err != nil {
			return err
		}
		if err := n.disk.meta.Put(ctx, datastore.NewKey(headsPrefix+hex.EncodeToString(key)), data); err != nil {
			return fmt.Errorf("store catalog head: %w", err)
		}
		n.cat.mu.Lock()
		now, _ := n.cat.heads.Get(key)
		n.cat.mu.Unlock()
		if now.Seq == h.Seq {
			return nil
		}
	}
}

// handleCatalogStream answers one catalog request. A published head is
// attributed to the member that sent it: its bound counts it.
func (n *Node) handleCatalogStream(ctx context.Context, s network.Stream) {
	defer s.Close()
	s.SetDeadline(time.Now().Add(catalogTimeout))
	from := s.Conn().RemotePeer()
	frame, err := wire.ReadFrame(bufio.NewReader(s), maxCatalogFrame)
	if err != nil {
		s.Reset()
		return
	}
	var req catalogRequest
	var reply catalogReply
	switch err := json.Unmarshal(frame, &req); {
	case err != nil || (req.Put == nil) == (req.Get == nil):
		reply.Error = "a catalog request puts one head or gets one key"
	case req.Put != nil:
		reply.Error = n.receiveHead(ctx, *req.Put, from)
		// A publisher behind the head kept learns of it: another node
		// writes the same owner's catalog (a recovered machine, or the
		// old one come back).
		n.cat.mu.Lock()
		if h, ok := n.cat.heads.Get(req.Put.Catalog); ok && h.After(*req.Put) {
			reply.Head = &h
		}
		n.cat.mu.Unlock()
	default:
		n.cat.mu.Lock()
		if h, ok := n.cat.heads.Get(req.Get); ok {
			reply.Head = &h
		}
		n.cat.mu.Unlock()
	}
	data, _ := json.Marshal(reply)
	if err := wire.WriteFrame(s, data); err != nil {
		s.Reset()
	}
}

// receiveHead keeps a head a member published, and returns why it was
// refused, if it was.
func (n *Node) receiveHead(ctx context.Context, h catalog.Head, from peer.ID) string {
	ctx, cancel := context.WithTimeout(ctx, catalogTimeout)
	defer cancel()
	changed, err := n.offerHead(ctx, h, from.String())
	switch {
	case err == nil:
		if changed {
			n.catalogBehind(ctx, h) // when it is this owner's catalog
		}
		return ""
	case errors.Is(err, catalog.ErrOverBound):
		n.rejected.noteOverBound(n.logger, "catalog head", from.String(), err, time.Now())
	default:
		n.rejected.note(n.logger, "catalog head", from.String(), err)
	}
	return err.Error()
}

// pushHead sends h to p, which keeps it, or answers with a newer head of
// the same catalog: then this node's next version follows that one.
func (n *Node) pushHead(ctx context.Context, p peer.ID, h catalog.Head) {
	reply, err := n.catalogExchange(ctx, p, catalogRequest{Put: &h})
	if err != nil {
		if ctx.Err() == nil {
			n.logger.Debug("send catalog head", "peer", p, "err", err)
		}
		return
	}
	if reply.Head != nil && ed25519.PublicKey(reply.Head.Catalog).Equal(h.Catalog) && reply.Head.After(h) {
		n.catalogBehind(ctx, *reply.Head)
	}
}

// catalogExchange sends one request to p and reads its reply.
func (n *Node) catalogExchange(ctx context.Context, p peer.ID, req catalogRequest) (catalogReply, error) {
	var reply catalogReply
	ctx, cancel := context.WithTimeout(ctx, catalogTimeout)
	defer cancel()
	s, err := n.net.host.NewStream(ctx, p, CatalogProtocol)
	if err != nil {
		return reply, err
	}
	defer s.Close()
	s.SetDeadline(time.Now().Add(catalogTimeout))
	data, err := json.Marshal(req)
	if err != nil {
		return reply, err
	}
	if err := wire.WriteFrame(s, data); err != nil {
		s.Reset()
		return reply, err
	}
	frame, err := wire.ReadFrame(bufio.NewReader(s), maxCatalogFrame)
	if err != nil {
		return reply, err
	}
	if err := json.Unmarshal(frame, &reply); err != nil {
		return reply, fmt.Errorf("catalog reply from %s: %w", p, err)
	}
	if reply.Error != "" {
		return reply, fmt.Errorf("%s refused: %s", p, reply.Error)
	}
	return reply, nil
}

// findHead asks every connected member for the latest head of a catalog
// and returns the newest that verifies, and how many members answered.
// Members can withhold or replay an old head, not forge one.
func (n *Node) findHead(ctx context.Context, pub ed25519.PublicKey) (catalog.Head, int, error) {
	var best catalog.Head
	asked := 0
	if h, ok := n.headKept(pub); ok {
		best = h
	}
	type answer struct {
		head *catalog.Head
		err  error
	}
	peers := n.net.host.Network().Peers()
	answers := make(chan answer, len(peers))
	for _, p := range peers {
		go func() {
			r, err := n.catalogExchange(ctx, p, catalogRequest{Get: pub})
			answers <- answer{r.Head, err}
		}()
	}
	for range peers {
		a := <-answers
		if a.err != nil {
			continue
		}
		asked++
		if a.head == nil || !ed25519.PublicKey(a.head.Catalog).Equal(pub) {
			continue
		}
		if err := a.head.Verify(time.Now()); err != nil || a.head.Seq <= best.Seq {
			continue
		}
		best = *a.head
	}
	if best.Seq == 0 {
		return best, asked, errNoCatalog
	}
	return best, asked, nil
}

var errNoCatalog = errors.New("no member keeps a catalog for this owner key")

func (n *Node) headKept(pub ed25519.PublicKey) (catalog.Head, bool) {
	n.cat.mu.Lock()
	defer n.cat.mu.Unlock()
	return n.cat.heads.Get(pub)
}
