package node

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/replication"
)

// Metrics. The collector reads the node's state when Prometheus scrapes:
// the tallies the event recorder keeps up to date (states, challenges,
// repairs), the replication core's repair queue, the connected members,
// the block store's usage and whatever the tombstone wiring reports.

var (
	descObjects = prometheus.NewDesc("cairn_objects",
		"Objects this node owns, holds or has heard of, by state (the words of cairn status).", []string{"state"}, nil)
	descUnder = prometheus.NewDesc("cairn_objects_under_replicated",
		"Objects with fewer verified copies than their target, deleted objects excluded.", nil, nil)
	descRepairQueue = prometheus.NewDesc("cairn_repair_queue",
		"Repair fetches this node has decided on and not finished, waiting or in flight.", nil, nil)
	descPendingAttestations = prometheus.NewDesc("cairn_attestations_pending",
		"Attestations waiting to reach peers that are offline or slow, counted once per peer.", nil, nil)
	descRepairs = prometheus.NewDesc("cairn_repairs_total",
		"Repair fetches this node finished since it started, by result (ok, failed).", []string{"result"}, nil)
	descChallenges = prometheus.NewDesc("cairn_challenges_total",
		"Storage challenges this node sent and judged since it started, by holder and result (passed, failed).",
		[]string{"peer", "operator", "region", "result"}, nil)
	descTombstoneLag = prometheus.NewDesc("cairn_tombstone_propagation_lag_seconds",
		"How long the oldest deletion that some holder has not acknowledged has been waiting; 0 when none.", nil, nil)
	descTombstonesPending = prometheus.NewDesc("cairn_tombstones_pending",
		"Deletions some holder has not acknowledged yet.", nil, nil)
	descPeers = prometheus.NewDesc("cairn_peers_connected",
		"Other federation members connected to this node, by operator and region.", []string{"operator", "region"}, nil)
	descStored = prometheus.NewDesc("cairn_storage_used_bytes",
		"Bytes of blocks in this node's block store.", nil, nil)
	descFree = prometheus.NewDesc("cairn_storage_free_bytes",
		"Free bytes for this node on the block store's filesystem.", nil, nil)
	descRoster = prometheus.NewDesc("cairn_roster_version",
		"Version of the federation roster this node holds; 0 outside a federation.", nil, nil)
	descOverBound = prometheus.NewDesc("cairn_member_over_bound_total",
		"Messages refused from a member because it was over what this node keeps or checks for one member (records of objects, attestations or challenges per second), by member.",
		[]string{"peer", "operator", "region"}, nil)
	descEvents = prometheus.NewDesc("cairn_events_total",
		"Events appended to this node's event stream since it was created (the last event's sequence).", nil, nil)
)

// MetricsCollector returns a Prometheus collector that reads the node's
// state at each scrape.
func (n *Node) MetricsCollector() prometheus.Collector { return metricsCollector{n} }

type metricsCollector struct{ n *Node }

var _ prometheus.Collector = metricsCollector{}

func (metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descObjects, descUnder, descRepairQueue, descPendingAttestations, descRepairs, descChallenges,
		descTombstoneLag, descTombstonesPending, descPeers, descStored, descFree, descRoster, descEvents, descOverBound} {
		ch <- d
	}
}

func (m metricsCollector) Collect(ch chan<- prometheus.Metric) {
	n, now := m.n, time.Now()
	snap := n.obs.stats.snapshot()
	for _, s := range netstat.States() {
		ch <- gauge(descObjects, float64(snap.tally.Count(s)), s.String())
	}
	ch <- gauge(descUnder, float64(snap.under))
	ch <- gauge(descRepairQueue, float64(n.repairQueue()))
	ch <- gauge(descPendingAttestations, float64(n.outbox.Pending()))
	ch <- counter(descRepairs, float64(snap.repairsOK), "ok")
	ch <- counter(descRepairs, float64(snap.repairsFailed), "failed")
	for _, p := range snap.challenges {
		ch <- counter(descChallenges, float64(p.Passed), string(p.Peer), p.Operator, p.Region, "passed")
		ch <- counter(descChallenges, float64(p.Failed), string(p.Peer), p.Operator, p.Region, "failed")
	}
	th := n.obs.stats.tombstoneHealth(now)
	ch <- gauge(descTombstoneLag, th.Lag.Seconds())
	ch <- gauge(descTombstonesPending, float64(th.Pending))
	m.collectPeers(ch)
	m.collectStorage(ch)
	m.collectOverBound(ch)
	if r := n.currentRoster(); r != nil {
		ch <- gauge(descRoster, float64(r.Version))
	} else {
		ch <- gauge(descRoster, 0)
	}
	if log := n.EventLog(); log != nil {
		ch <- counter(descEvents, float64(log.End().Seq()))
	}
}

// collectOverBound reports the members refused for being over a bound.
func (m metricsCollector) collectOverBound(ch chan<- prometheus.Metric) {
	roster := map[replication.PeerID]replication.Member{}
	for _, mi := range m.n.Members() {
		roster[replication.PeerID(mi.PeerID)] = replication.Member{Operator: mi.Operator, Region: mi.Region}
	}
	for _, p := range m.n.overBoundPeers(roster) {
		ch <- counter(descOverBound, float64(p.Refused), string(p.Peer), p.Operator, p.Region)
	}
}

// collectPeers counts connected members by operator and region, with a
// zero for every place of the roster where none is connected.
func (m metricsCollector) collectPeers(ch chan<- prometheus.Metric) {
	type place struct{ operator, region string }
	counts := map[place]int{}
	for _, mi := range m.n.Members() {
		if mi.Self {
			continue
		}
		counts[place{mi.Operator, mi.Region}] += btoi(mi.Connected)
	}
	for p, c := range counts {
		ch <- gauge(descPeers, float64(c), p.operator, p.region)
	}
}

func (m metricsCollector) collectStorage(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := m.n.storageUsage(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descStored, err)
		return
	}
	ch <- gauge(descStored, float64(u.Bytes))
	ch <- gauge(descFree, float64(u.FreeBytes))
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// repairQueue is how many repair fetches this node has decided on and
// not finished.
func (n *Node) repairQueue() int {
	var queued, fetching int
	n.repl.Read(func(c *replication.Core) { queued, fetching = c.Repairs() })
	return queued + fetching
}

// check is this node's latest challenge of one holder.
type check struct {
	at     int64 // unix ms; 0 when never
	result replication.Result
}

// localChecks returns this node's latest challenge of each holder.
func (n *Node) localChecks(id string, holders []netstat.HolderView) []check {
	out := make([]check, len(holders))
	self := replication.PeerID(n.host.ID().String())
	n.repl.Read(func(c *replication.Core) {
		for i, h := range holders {
			if h.Local {
				continue
			}
			if at, r, ok := c.Ledger().Check(replication.ObjectID(id), self, replication.PeerID(h.PeerID)); ok {
				out[i] = check{at: at.UnixMilli(), result: r}
			}
		}
	})
	return out
}

// countChallenges counts the challenges this node finished since the
// previous view.
func (o *observer) countChallenges(prev seenObject, cur netstat.ObjectView, checks []check) {
	for i, h := range cur.Holders {
		c := checks[i]
		if c.at == 0 || c.at <= prev.checked(o.peers.lookup(h.PeerID)) {
			continue
		}
		o.stats.challenged(h, c, time.UnixMilli(c.at))
	}
}

func (s seenObject) checked(peer uint32, ok bool) int64 {
	if !ok {
		return 0
	}
	for _, h := range s.holders {
		if h.peer == peer {
			return h.checked
		}
	}
	return 0
}

// stats are the counts the event recorder keeps for health and metrics.
// The zero value is ready.
type stats struct {
	mu sync.Mutex
	// Guarded by mu.
	tally                    netstat.Tally
	under                    int                                // objects below target, deleted ones excluded
	challenges               map[string]*netstat.PeerChallenges // this node's challenges, by holder
	repairsOK, repairsFailed uint64
	tombstones               func(now time.Time) tombstoneHealth // nil until the tombstone wiring sets it
}

// statsSnapshot is a copy of stats taken under its lock.
type statsSnapshot struct {
	tally                    netstat.Tally
	under                    int
	challenges               []netstat.PeerChallenges
	repairsOK, repairsFailed uint64
}

func (s *stats) snapshot() statsSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := statsSnapshot{tally: s.tally, under: s.under, repairsOK: s.repairsOK, repairsFailed: s.repairsFailed,
		challenges: make([]netstat.PeerChallenges, 0, len(s.challenges))}
	for _, p := range s.challenges {
		out.challenges = append(out.challenges, *p)
	}
	return out
}

// moved replaces an object's old view (if had) by its new one (if has)
// in the counts.
func (s *stats) moved(prev seenObject, had bool, cur seenObject, has bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if had {
		s.tally.Remove(prev.state)
		s.under -= btoi(prev.underReplicated())
	}
	if has {
		s.tally.Add(cur.state)
		s.under += btoi(cur.underReplicated())
	}
}

func (s seenObject) underReplicated() bool {
	return s.target > 0 && s.copies < s.target && s.state != netstat.StateDeleting && s.state != netstat.StateDeleted
}

// challenged counts one challenge of holder h this node judged at at.
func (s *stats) challenged(h netstat.HolderView, c check, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.challenges == nil {
		s.challenges = map[string]*netstat.PeerChallenges{}
	}
	p := s.challenges[h.PeerID]
	if p == nil {
		p = &netstat.PeerChallenges{Peer: replication.PeerID(h.PeerID)}
		s.challenges[h.PeerID] = p
	}
	if h.Operator != "" {
		p.Operator, p.Region = h.Operator, h.Region
	}
	if c.result == replication.ResultPass {
		p.Passed++
		p.ConsecutiveFailures, p.FirstFailureAt = 0, time.Time{}
		return
	}
	p.Failed++
	p.ConsecutiveFailures++
	if p.ConsecutiveFailures == 1 {
		p.FirstFailureAt = at
	}
	p.LastReason = c.result.Reason()
}

func (s *stats) repairDone(ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.repairsOK++
	} else {
		s.repairsFailed++
	}
}
