package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/ipfs/boxo/exchange"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/netstat"
)

// Restore drills. A backup is judged by its restore, so a drill does what
// a restore on a new machine would: it fetches objects this node's owner
// added from the other members only (never from this node's own blocks),
// checks every block against its CID and decrypts every chunk, and keeps
// nothing. `cairn verify` runs one on demand, and drillLoop one every
// drill.interval.

// DrillObject is the outcome of one object's drill.
type DrillObject struct {
	CID  string `json:"cid"`
	Name string `json:"name,omitempty"`
	// Bytes is how much file content was read, checked and decrypted.
	Bytes int64 `json:"bytes"`
	// From lists the operators whose members sent blocks.
	From  []string      `json:"from,omitempty"`
	Took  time.Duration `json:"took_ns"`
	Error string        `json:"error,omitempty"`
	// Holders is how each other holder's copy fared when asked to prove
	// it (drillproof.go).
	Holders []HolderProof `json:"holders,omitempty"`
}

// Drill is one run over some objects.
type Drill struct {
	At      time.Time     `json:"at"`
	Objects []DrillObject `json:"objects"`
	Passed  int           `json:"passed"`
	Failed  int           `json:"failed"`
}

// DrillRequest says what a drill reads: the objects of the capabilities
// given, or a random sample of Sample objects this node's owner added, or
// All of them.
type DrillRequest struct {
	Capabilities []string `json:"capabilities,omitempty"`
	Sample       int      `json:"sample,omitempty"`
	All          bool     `json:"all,omitempty"`
}

// ErrNothingToDrill: the owner has added no object here that a sample
// would read (none is backed up yet, or none at all).
var ErrNothingToDrill = errors.New("node: no backed-up object of this node's owner to verify; wait until one is backed up, use --all, or name a capability")

// lastDrillKey keeps the latest drill in the metadata store.
var lastDrillKey = datastore.NewKey("/drill/last")

// Verify runs a drill and keeps its outcome as the latest.
func (n *Node) Verify(ctx context.Context, req DrillRequest) (Drill, error) {
	if len(n.net.host.Network().Peers()) == 0 {
		// Reaching nobody says nothing about the copies: no drill, rather
		// than one that marks every object it tried at risk.
		return Drill{}, fmt.Errorf("verify: %w", ErrNoPeers)
	}
	targets, err := n.drillTargets(ctx, req)
	if err != nil {
		return Drill{}, err
	}
	d := Drill{At: time.Now().UTC()}
	for _, t := range targets {
		o := n.drillOne(ctx, t.Capability)
		o.Name = t.Name
		if o.Error == "" {
			d.Passed++
		} else {
			d.Failed++
		}
		d.Objects = append(d.Objects, o)
		if ctx.Err() != nil {
			return Drill{}, ctx.Err()
		}
	}
	data, err := json.Marshal(d)
	if err == nil {
		err = n.disk.meta.Put(ctx, lastDrillKey, data)
	}
	if err == nil {
		err = n.noteDrill(ctx, d)
	}
	if err != nil {
		n.logger.Warn("keep the latest drill", "err", err)
	}
	return d, nil
}

// summary is what cairn health shows of d.
func (d Drill) summary() *netstat.DrillSummary {
	ops := map[string]bool{}
	s := &netstat.DrillSummary{At: d.At, Objects: len(d.Objects)}
	for _, o := range d.Objects {
		for _, op := range o.From {
			ops[op] = true
		}
		if o.Error != "" {
			s.Failures = append(s.Failures, o.CID+": "+o.Error)
		}
	}
	for op := range ops {
		s.Operators = append(s.Operators, op)
	}
	slices.Sort(s.Operators)
	return s
}

// LastDrill returns the latest drill this node ran; ok is false if none.
func (n *Node) LastDrill(ctx context.Context) (d Drill, ok bool, err error) {
	data, err := n.disk.meta.Get(ctx, lastDrillKey)
	if errors.Is(err, datastore.ErrNotFound) {
		return Drill{}, false, nil
	}
	if err != nil {
		return Drill{}, false, fmt.Errorf("read the latest drill: %w", err)
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return Drill{}, false, fmt.Errorf("decode the latest drill: %w", err)
	}
	return d, true, nil
}

// drillTarget is an object to drill, by capability.
type drillTarget struct{ Capability, Name string }

// drillTargets picks what req names: its capabilities, else the owner's
// objects here (all, or a random sample).
func (n *Node) drillTargets(ctx context.Context, req DrillRequest) ([]drillTarget, error) {
	var out []drillTarget
	for _, c := range req.Capabilities {
		out = append(out, drillTarget{Capability: c})
	}
	if len(out) > 0 {
		return out, nil
	}
	objs, err := n.List(ctx)
	if err != nil {
		return nil, err
	}
	// A sample reads again every object a drill could not read back (its
	// at_risk clears only when one does), then backed-up objects picked
	// at random: one still replicating would fail for being new.
	var failed []drillTarget
	for _, o := range objs {
		if o.Role != RoleOwner || o.Capability == "" {
			continue
		}
		t := drillTarget{Capability: o.Capability, Name: o.Name}
		switch {
		case req.All:
			out = append(out, t)
		case n.drillFailure(ctx, o.ID) != "":
			failed = append(failed, t)
		default:
			if v, err := n.Status(ctx, o.ID); err == nil && v.State == netstat.StateBackedUp {
				out = append(out, t)
			}
		}
	}
	if len(out)+len(failed) == 0 {
		return nil, ErrNothingToDrill
	}
	if !req.All && req.Sample > 0 && req.Sample < len(out) {
		rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		out = out[:req.Sample]
	}
	out = append(failed, out...)
	slices.SortFunc(out, func(a, b drillTarget) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// drillOne reads one object from the other members, into nothing.
func (n *Node) drillOne(ctx context.Context, capability string) DrillObject {
	start := time.Now()
	out := DrillObject{}
	fail := func(err error) DrillObject {
		out.Error, out.Took = err.Error(), time.Since(start)
		return out
	}
	cp, err := n.readable(capability)
	if err != nil {
		return fail(err)
	}
	out.CID = cp.Root().String()
	if len(n.net.host.Network().Peers()) == 0 {
		return fail(n.noSource(cp.Root(), ErrNoPeers))
	}
	holders, err := n.countedHolders(ctx, cp.Root())
	if err != nil {
		n.logger.Warn("restore drill: the holders' copies will not be proved", "cid", out.CID, "err", err)
	}
	n.dialSources(cp.Root())
	proofCtx := ctx // the proofs come after the read, which the stall watch below ends
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ctx, stalled, progress := n.watchProgress(ctx, nil) // no overall limit: a large object takes its time
	before := n.receivedFrom()
	g := &othersGetter{from: n.net.bitswap.NewSession(ctx), progress: func(b blocks.Block) { progress.Update(uint64(len(b.RawData()))) }}
	obj, err := object.Open(ctx, cp, g)
	if err == nil {
		err = obj.WriteTar(ctx, io.Discard)
	}
	out.From = n.operatorsSince(before)
	if err != nil {
		if stalled() {
			err = fmt.Errorf("no other member sent a block for %s (fetch.stall_timeout): %w", n.cfg.Fetch.StallTimeout, err)
		}
		return fail(err)
	}
	for _, e := range obj.Entries() {
		out.Bytes += e.Size
	}
	if err := n.proveCopies(proofCtx, cp.Root(), holders, &out); err != nil {
		return fail(err)
	}
	out.Took = time.Since(start)
	return out
}

// othersGetter gets blocks from the other members only, over bitswap,
// and keeps none.
type othersGetter struct {
	from     exchange.Fetcher
	progress func(blocks.Block)
}

func (g *othersGetter) Get(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	b, err := g.from.GetBlock(ctx, c)
	if err == nil {
		g.progress(b)
	}
	return b, err
}

// ChecksBlocks: bitswap computes a received block's CID from its bytes.
func (g *othersGetter) ChecksBlocks() {}

// receivedFrom is how many bytes of blocks each connected peer has sent.
func (n *Node) receivedFrom() map[peer.ID]uint64 {
	out := map[peer.ID]uint64{}
	for _, p := range n.net.host.Network().Peers() {
		out[p] = n.net.bitswap.LedgerForPeer(p).Recv
	}
	return out
}

// operatorsSince names the operators of the members that sent blocks
// since before was taken.
func (n *Node) operatorsSince(before map[peer.ID]uint64) []string {
	ops := map[string]bool{}
	byPeer := map[string]string{}
	for _, m := range n.Members() {
		byPeer[m.PeerID] = m.Operator
	}
	for p, was := range before {
		if now := n.net.bitswap.LedgerForPeer(p).Recv; now > was {
			if op := byPeer[p.String()]; op != "" {
				ops[op] = true
			}
		}
	}
	return slices.Sorted(func(yield func(string) bool) {
		for op := range ops {
			if !yield(op) {
				return
			}
		}
	})
}

// firstDrillAfter is how long after the node starts its first scheduled
// drill runs when it has never run one (or drill.interval, if shorter).
const firstDrillAfter = 10 * time.Minute

// drillLoop runs a drill of drill.sample objects every drill.interval,
// counted from the latest drill, kept across restarts. A node whose owner
// added nothing here has nothing to drill and waits for the next time.
func (n *Node) drillLoop(ctx context.Context) {
	interval := n.cfg.Drill.Interval.Duration
	if interval == 0 {
		return
	}
	next := time.Now().Add(min(interval, firstDrillAfter))
	if last, ok, err := n.LastDrill(ctx); err == nil && ok {
		next = last.At.Add(interval)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		d, err := n.Verify(ctx, DrillRequest{Sample: n.cfg.Drill.Sample})
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrNothingToDrill):
		case errors.Is(err, ErrNoPeers):
			n.logger.Info("restore drill postponed: no member is connected")
			next = time.Now().Add(min(interval, firstDrillAfter))
			continue
		case err != nil:
			n.logger.Warn("restore drill", "err", err)
		case d.Failed > 0:
			n.logger.Warn("restore drill: objects did not read back from the other members", "failed", d.Failed, "of", len(d.Objects))
		default:
			n.logger.Info("restore drill: every object read back from the other members", "objects", d.Passed)
		}
		next = time.Now().Add(interval)
	}
}
