package node

import (
	"context"
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
	descTraffic = prometheus.NewDesc("cairn_p2p_bytes_total",
		"Bytes this node sent to and received from federation members since it started, every protocol, by direction (in, out).", []string{"direction"}, nil)
	descDrillAt = prometheus.NewDesc("cairn_drill_last_timestamp_seconds",
		"When the latest restore drill ran (Unix time); absent before the first.", nil, nil)
	descDrillObjects = prometheus.NewDesc("cairn_drill_last_objects",
		"Objects the latest restore drill read from the other members, by result (passed: read back, checked and decrypted; failed).", []string{"result"}, nil)
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
		descTombstoneLag, descTombstonesPending, descPeers, descStored, descFree, descRoster, descEvents, descOverBound, descTraffic, descDrillAt, descDrillObjects} {
		ch <- d
	}
}

func (m metricsCollector) Collect(ch chan<- prometheus.Metric) {
	n, now := m.n, time.Now()
	snap := n.obs.Stats()
	for _, s := range netstat.States() {
		ch <- gauge(descObjects, float64(snap.Tally.Count(s)), s.String())
	}
	ch <- gauge(descUnder, float64(snap.Under))
	ch <- gauge(descRepairQueue, float64(n.repairQueue()))
	ch <- gauge(descPendingAttestations, float64(n.repl.outbox.Pending()))
	ch <- counter(descRepairs, float64(snap.RepairsOK), "ok")
	ch <- counter(descRepairs, float64(snap.RepairsFailed), "failed")
	for _, p := range snap.Challenges {
		ch <- counter(descChallenges, float64(p.Passed), string(p.Peer), p.Operator, p.Region, "passed")
		ch <- counter(descChallenges, float64(p.Failed), string(p.Peer), p.Operator, p.Region, "failed")
	}
	th := n.del.Health(now)
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
	if d, ok, err := n.LastDrill(context.Background()); err == nil && ok {
		ch <- gauge(descDrillAt, float64(d.At.Unix()))
		ch <- gauge(descDrillObjects, float64(d.Passed), "passed")
		ch <- gauge(descDrillObjects, float64(d.Failed), "failed")
	}
	if t := n.net.traffic; t != nil {
		total := t.GetBandwidthTotals()
		ch <- counter(descTraffic, float64(total.TotalIn), "in")
		ch <- counter(descTraffic, float64(total.TotalOut), "out")
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
	u, err := m.n.disk.blocks.Usage()
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
