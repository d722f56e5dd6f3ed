// Package sim runs a whole Cairn federation in one process on go-libp2p's
// mocknet: real nodes (node.New, with their DHT, bitswap, gossip,
// replication and tombstones) whose hosts talk over simulated links with a
// latency set by region, so that a test can add objects in bursts, cut a
// region off and measure how long replica counts take to settle, how much
// the nodes gossip and how much memory each one takes.
//
// mocknet has no security or multiplexer layer, and its connection gater
// cannot be set from outside its package, so the federation's gater is not
// installed on simulated hosts: every simulated node is a member, and
// membership is enforced only by what the nodes themselves refuse.
package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/multiformats/go-multiaddr"

	"github.com/cairn-fed/cairn/internal/config"
	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/repo"
)

// Regions are where simulated members live, in order: member i is in
// Regions[i%len(Regions)].
var Regions = []string{"eu-west", "eu-north", "us-east", "us-west", "ap-south"}

// regionLatency is the one-way latency of a link between two regions, in
// milliseconds, indexed like Regions: 20 ms within a region, up to 150 ms
// between Europe or America and South Asia.
var regionLatency = [5][5]int{
	{20, 30, 80, 140, 120},
	{30, 20, 90, 150, 130},
	{80, 90, 20, 60, 150},
	{140, 150, 60, 20, 150},
	{120, 130, 150, 150, 20},
}

// Config says what federation to simulate.
type Config struct {
	Nodes int    // members, each its own operator; at least 2
	Dir   string // where the repositories go (a test's t.TempDir())
	// Replication replaces every node's replication settings; the
	// defaults (minutes) would make a simulation take hours.
	Replication config.Replication
	// Bandwidth of every link in bytes per second; 0: 100 Mbit/s.
	Bandwidth float64
	// Workers is how many objects are added at once; 0: 4.
	Workers int
	// LowWater is each node's swarm.low_water: how many members it keeps
	// connections to. 0: every other member, a full mesh.
	LowWater int
	Logger   *slog.Logger
}

// FastReplication challenges every 10 s (the default is a minute) and
// repairs after 1 s below target, turning to the next candidate after 5 s
// when the first do not fetch; proofs stay fresh for three rounds, so one
// late answer on a loaded machine does not drop a copy. Copies are never
// released during a run. (With 5 s rounds, 10 nodes and 200 objects on
// two cores answered challenges late once a region went dark and repairs
// piled up: copies that were fine timed out, were repaired, and the extra
// copies brought more challenges. The simulation then measures the
// machine, not the federation.)
func FastReplication() config.Replication {
	r := config.Default().Replication
	r.ChallengeInterval.Duration = 10 * time.Second
	r.ChallengeTimeout.Duration = 10 * time.Second
	r.ProofFreshness.Duration = 30 * time.Second
	r.RepairGrace.Duration = time.Second
	r.RepairEscalation.Duration = 5 * time.Second
	r.RepairConcurrency = 32 // small objects: many at once hide the links' latency
	r.ReleaseGrace.Duration = time.Hour
	r.RepairMiBPerSec = 0
	return r
}

// Member is one simulated node and its place in the federation.
type Member struct {
	Node     *node.Node
	ID       peer.ID
	Operator string
	Region   string
	host     host.Host // the mocknet host, without the counting wrapper
}

// Cluster is a running simulated federation.
type Cluster struct {
	cfg     Config
	mn      mocknet.Mocknet
	Members []*Member
	Traffic Traffic

	// added counts the objects AddObjects has added, and unsettled the
	// unsettled objects WaitSettled saw last, for progress reports.
	added, unsettled atomic.Int64

	mu   sync.Mutex
	dark map[string]bool // regions cut off; guarded by mu
}

// Start creates cfg.Nodes nodes, links every pair with its regions'
// latency and federates them: the first founds the federation and admits
// the others, which join with their tokens. It returns once every member
// has the final roster and a connection to every other member.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Nodes < 2 {
		return nil, fmt.Errorf("sim: needs at least 2 nodes, got %d", cfg.Nodes)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Bandwidth == 0 {
		cfg.Bandwidth = 100e6 / 8
	}
	if cfg.Workers == 0 {
		cfg.Workers = 4
	}
	c := &Cluster{cfg: cfg, mn: mocknet.New(), dark: map[string]bool{}}
	for i := range cfg.Nodes {
		m, err := c.startMember(i)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Members = append(c.Members, m)
	}
	if err := c.link(); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.federate(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) startMember(i int) (*Member, error) {
	r, err := repo.Init(filepath.Join(c.cfg.Dir, fmt.Sprintf("node-%04d", i)), repo.InitOptions{})
	if err != nil {
		return nil, fmt.Errorf("sim: create repository %d: %w", i, err)
	}
	r.Config.Replication = c.cfg.Replication
	r.Config.Swarm.LowWater = c.lowWater()
	r.Config.Swarm.HighWater = max(r.Config.Swarm.HighWater, r.Config.Swarm.LowWater)
	owner, err := r.Owner(nil)
	if err != nil {
		return nil, fmt.Errorf("sim: owner key of node %d: %w", i, err)
	}
	m := &Member{Operator: fmt.Sprintf("op-%04d", i), Region: Regions[i%len(Regions)]}
	addr := multiaddr.StringCast(fmt.Sprintf("/ip4/10.%d.%d.%d/tcp/4501", i%len(Regions), i/256, i%256))
	m.Node, err = node.New(r, node.Options{Owner: owner, Logger: c.cfg.Logger.With("node", i), Host: c.hostAt(m, addr)})
	if err != nil {
		return nil, fmt.Errorf("sim: start node %d: %w", i, err)
	}
	return m, nil
}

// hostAt returns the node's host hook: a mocknet host at addr that
// answers pings (Connect confirms a new peer with one) and counts what
// it sends. The gater is dropped: mocknet cannot install one.
func (c *Cluster) hostAt(m *Member, addr multiaddr.Multiaddr) func(crypto.PrivKey, connmgr.ConnectionGater) (host.Host, error) {
	return func(priv crypto.PrivKey, _ connmgr.ConnectionGater) (host.Host, error) {
		h, err := c.mn.AddPeer(priv, addr)
		if err != nil {
			return nil, fmt.Errorf("sim: add mocknet peer: %w", err)
		}
		ping.NewPingService(h)
		m.host, m.ID = h, h.ID()
		return &countingHost{Host: h, traffic: &c.Traffic}, nil
	}
}

// link joins every pair of members with a link of their regions'
// latency, and tells every member where every other one is, as the
// members' saved addresses would on real hosts.
func (c *Cluster) link() error {
	for i, a := range c.Members {
		for j, b := range c.Members[:i] {
			l, err := c.mn.LinkPeers(a.ID, b.ID)
			if err != nil {
				return fmt.Errorf("sim: link %d and %d: %w", i, j, err)
			}
			lat := regionLatency[i%len(Regions)][j%len(Regions)]
			l.SetOptions(mocknet.LinkOptions{Latency: time.Duration(lat) * time.Millisecond, Bandwidth: c.cfg.Bandwidth})
			a.host.Peerstore().AddAddrs(b.ID, b.host.Addrs(), peerstore.PermanentAddrTTL)
			b.host.Peerstore().AddAddrs(a.ID, a.host.Addrs(), peerstore.PermanentAddrTTL)
		}
	}
	return nil
}

// federate founds the federation on the first member and admits the
// others; they join a few at a time.
func (c *Cluster) federate(ctx context.Context) error {
	founder := c.Members[0]
	if _, err := founder.Node.FederationCreate(ctx, "sim", founder.Operator, founder.Region); err != nil {
		return fmt.Errorf("sim: create federation: %w", err)
	}
	tokens := make([]string, len(c.Members))
	for i, m := range c.Members[1:] {
		tok, err := founder.Node.FederationAdmit(ctx, m.ID.String(), m.Operator, m.Region)
		if err != nil {
			return fmt.Errorf("sim: admit node %d: %w", i+1, err)
		}
		tokens[i+1] = tok
	}
	err := forEach(ctx, len(c.Members)-1, c.cfg.Workers, func(ctx context.Context, i int) error {
		if _, err := c.Members[i+1].Node.FederationJoin(ctx, tokens[i+1]); err != nil {
			return fmt.Errorf("sim: node %d joins: %w", i+1, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.waitFederated(ctx)
}

// lowWater is the swarm.low_water of every node.
func (c *Cluster) lowWater() int {
	if c.cfg.LowWater > 0 {
		return c.cfg.LowWater
	}
	return c.cfg.Nodes
}

// waitFederated waits until every member holds the founder's roster and
// is connected to as many others as its low water asks for.
func (c *Cluster) waitFederated(ctx context.Context) error {
	info, err := c.Members[0].Node.FederationShow()
	if err != nil {
		return fmt.Errorf("sim: founder's federation: %w", err)
	}
	return poll(ctx, 200*time.Millisecond, "every member to hold the roster and reach every other", func() bool {
		for _, m := range c.Members {
			got, err := m.Node.FederationShow()
			if err != nil || got.Version != info.Version || len(m.host.Network().Peers()) < min(len(c.Members)-1, c.lowWater()) {
				return false
			}
		}
		return true
	})
}

// AddObjects adds count objects of size random bytes, spread over the
// members that are not cut off, and returns their IDs.
func (c *Cluster) AddObjects(ctx context.Context, count, size int) ([]string, error) {
	lit := c.Lit()
	ids := make([]string, count)
	err := forEach(ctx, count, c.cfg.Workers, func(ctx context.Context, i int) error {
		data := make([]byte, size)
		rand.Read(data)
		m := lit[i%len(lit)]
		name := fmt.Sprintf("object-%d", i)
		res, err := m.Node.Add(ctx, object.NewReaderSource(name, bytes.NewReader(data)), node.AddOptions{Name: name, New: true})
		if err != nil {
			return fmt.Errorf("sim: add %s on %s: %w", name, m.ID, err)
		}
		ids[i] = res.CID
		c.added.Add(1)
		return nil
	})
	return ids, err
}

// Lit returns the members whose region is not cut off.
func (c *Cluster) Lit() []*Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Member
	for _, m := range c.Members {
		if !c.dark[m.Region] {
			out = append(out, m)
		}
	}
	return out
}

// Unsettled returns how many objects some member not cut off records
// without counting them backed up. Each member records only the objects
// it has a part in (it holds a copy, or ranks among their first
// candidates), so the federation has settled when every member counts
// every object it records backed up: each object's owner, holders and
// candidates then agree. It also returns the member recording the most
// unsettled objects, to describe them (see Lagging).
func (c *Cluster) Unsettled(ctx context.Context) (int, *Member, error) {
	unsettled := map[string]bool{}
	var worst *Member
	most := 0
	for _, m := range c.Lit() {
		short, err := notBackedUp(ctx, m, 0)
		if err != nil {
			return 0, nil, err
		}
		for _, id := range short {
			unsettled[id] = true
		}
		if len(short) > most {
			worst, most = m, len(short)
		}
	}
	return len(unsettled), worst, nil
}

// notBackedUp lists up to limit (0: all) objects m records without
// counting them backed up, most urgent first.
func notBackedUp(ctx context.Context, m *Member, limit int) ([]string, error) {
	ov, err := m.Node.StatusPage(ctx, netstat.PageCursor{}, 1)
	if err != nil {
		return nil, fmt.Errorf("sim: status of %s: %w", m.ID, err)
	}
	n := ov.Tally.Total() - ov.Tally.Count(netstat.StateBackedUp)
	if limit > 0 {
		n = min(n, limit)
	}
	if n == 0 {
		return nil, nil
	}
	page, err := m.Node.StatusPage(ctx, netstat.PageCursor{}, n)
	if err != nil {
		return nil, fmt.Errorf("sim: status of %s: %w", m.ID, err)
	}
	var out []string
	for _, row := range page.Objects {
		if row.State != netstat.StateBackedUp {
			out = append(out, row.CID)
		}
	}
	return out, nil
}

// Lagging describes up to n objects that the member recording the most
// unsettled objects does not count backed up: its view of the object and
// of each holder, to tell why a run did not converge.
func (c *Cluster) Lagging(ctx context.Context, n int) []string {
	_, worst, err := c.Unsettled(ctx)
	if err != nil || worst == nil {
		return nil
	}
	ids, err := notBackedUp(ctx, worst, n)
	if err != nil {
		return nil
	}
	var out []string
	for _, id := range ids {
		v, err := worst.Node.Status(ctx, id)
		if err != nil {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s seen by %s (%s): %s, %d/%d copies;", id, worst.Operator, worst.Region, v.State, v.Copies, v.Target)
		writeHolders(&b, v, time.Now())
		// What each holder sees of the others tells a check never made
		// from one made and not heard of.
		for _, h := range v.Holders {
			m := c.member(h.PeerID)
			if m == nil || m == worst {
				continue
			}
			if hv, err := m.Node.Status(ctx, id); err == nil {
				fmt.Fprintf(&b, "\n\tby holder %s: %s, %d/%d copies;", m.Operator, hv.State, hv.Copies, hv.Target)
				writeHolders(&b, hv, time.Now())
			}
		}
		out = append(out, b.String())
	}
	return out
}

// writeHolders describes each holder of v: its state, why it does not
// count, and how long ago its copy was checked and verified.
func writeHolders(b *strings.Builder, v netstat.ObjectView, now time.Time) {
	ago := func(t *time.Time) string {
		if t == nil {
			return "never"
		}
		return now.Sub(*t).Round(time.Second).String()
	}
	for _, h := range v.Holders {
		fmt.Fprintf(b, " %s/%s %s %s (checked %s, verified %s ago);", h.Operator, h.Region, h.State, h.Reason, ago(h.CheckedAt), ago(h.VerifiedAt))
	}
}

// member returns the member whose peer ID is id, or nil.
func (c *Cluster) member(id string) *Member {
	for _, m := range c.Members {
		if m.ID.String() == id {
			return m
		}
	}
	return nil
}

// WaitSettled waits until no member not cut off records an object it
// does not count backed up, and returns how long it waited and the
// unsettled objects seen last (0 once it settled).
func (c *Cluster) WaitSettled(ctx context.Context, every time.Duration) (time.Duration, int, error) {
	start := time.Now()
	last := -1
	err := poll(ctx, every, "every member to count every object it records backed up", func() bool {
		n, _, err := c.Unsettled(ctx)
		if err != nil {
			return false
		}
		last = n
		c.unsettled.Store(int64(n))
		return n == 0
	})
	if err != nil {
		return time.Since(start), last, fmt.Errorf("%w (unsettled objects seen last: %d)", err, last)
	}
	return time.Since(start), last, nil
}

// Darken cuts every link between region's members and the others, and
// closes their connections: the region goes dark for the rest. The links
// go first, so no connection can be made again, then every pair's
// connections close in parallel: a mocknet connection closes its streams
// one by one, and closing thousands in turn took minutes at 50 nodes.
func (c *Cluster) Darken(region string) error {
	c.mu.Lock()
	c.dark[region] = true
	c.mu.Unlock()
	var dark, lit []*Member
	for _, m := range c.Members {
		if m.Region == region {
			dark = append(dark, m)
		} else {
			lit = append(lit, m)
		}
	}
	var errs []error
	for _, a := range dark {
		for _, b := range lit {
			if err := c.mn.UnlinkPeers(a.ID, b.ID); err != nil {
				errs = append(errs, fmt.Errorf("sim: unlink %s and %s: %w", a.ID, b.ID, err))
			}
		}
	}
	var wg sync.WaitGroup
	for _, a := range dark {
		for _, b := range lit {
			wg.Go(func() {
				a.host.Network().ClosePeer(b.ID)
				b.host.Network().ClosePeer(a.ID)
			})
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Heal links region's members to the others again, as before Darken; the
// members reconnect by themselves, as they do after any outage.
func (c *Cluster) Heal(region string) error {
	c.mu.Lock()
	delete(c.dark, region)
	c.mu.Unlock()
	for i, a := range c.Members {
		for j, b := range c.Members {
			if a.Region != region || b.Region == region {
				continue
			}
			l, err := c.mn.LinkPeers(a.ID, b.ID)
			if err != nil {
				return fmt.Errorf("sim: link %s and %s again: %w", a.ID, b.ID, err)
			}
			lat := regionLatency[i%len(Regions)][j%len(Regions)]
			l.SetOptions(mocknet.LinkOptions{Latency: time.Duration(lat) * time.Millisecond, Bandwidth: c.cfg.Bandwidth})
		}
	}
	return nil
}

// Memory is the Go heap after a collection, divided by the members.
type Memory struct {
	HeapPerNode       uint64 // bytes in use
	GoroutinesPerNode int
}

// MeasureMemory collects garbage and reads the heap. It measures the
// whole process: the nodes, mocknet and the test.
func (c *Cluster) MeasureMemory() Memory {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	n := uint64(len(c.Members))
	return Memory{HeapPerNode: ms.HeapInuse / n, GoroutinesPerNode: runtime.NumGoroutine() / len(c.Members)}
}

// Connections counts open connections over all members, each counted at
// both ends.
func (c *Cluster) Connections() int {
	n := 0
	for _, m := range c.Members {
		for _, p := range m.host.Network().Peers() {
			if m.host.Network().Connectedness(p) == network.Connected {
				n++
			}
		}
	}
	return n
}

// Close cuts every link, so that no node reconnects to one that is
// stopping, then stops the nodes, up to 32 at a time, and the network.
func (c *Cluster) Close() error {
	for _, a := range c.Members {
		for _, b := range c.Members {
			if a.ID < b.ID {
				c.mn.UnlinkPeers(a.ID, b.ID)
			}
		}
	}
	errs := make([]error, len(c.Members)+1)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i, m := range c.Members {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = m.Node.Close()
		})
	}
	wg.Wait()
	errs[len(c.Members)] = c.mn.Close()
	return errors.Join(errs...)
}

// forEach runs fn(0) to fn(count-1), workers at a time, and returns the
// first error; after an error the calls not yet started are skipped and
// the running ones see their context cancelled.
func forEach(ctx context.Context, count, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i := range count {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// poll checks cond every interval until it holds or ctx ends.
func poll(ctx context.Context, every time.Duration, what string, cond func() bool) error {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("sim: waiting for %s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}
