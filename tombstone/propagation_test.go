package tombstone

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// A propagation simulation: n nodes in four regions, each with its own
// Set, gossiping one tombstone the way GossipSub does (every node that
// applies it forwards it once to its mesh of meshDegree peers), over links whose one-way latency is 20 ms
// inside a region and 60 to 150 ms between regions, with a share of
// messages lost. Each receiver verifies the real signature with Apply.
// Time is simulated, so the figure is deterministic for a seed.

const meshDegree = 6

type propagationSim struct {
	sets    []*Set
	region  []int
	mesh    [][]int
	rng     *rand.Rand
	loss    float64
	queue   eventQueue
	reached []time.Duration // when each node applied it; -1 if never
}

type gossipEvent struct {
	at       time.Duration
	from, to int
	t        Tombstone
}

type eventQueue []gossipEvent

func (q eventQueue) Len() int           { return len(q) }
func (q eventQueue) Less(i, j int) bool { return q[i].at < q[j].at }
func (q eventQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)        { *q = append(*q, x.(gossipEvent)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// regionLatency is the one-way latency between regions a and b.
var regionLatency = [4][4]time.Duration{
	{20, 60, 110, 150},
	{60, 20, 90, 130},
	{110, 90, 20, 70},
	{150, 130, 70, 20},
}

func newPropagationSim(t testing.TB, n int, loss float64, seed uint64) *propagationSim {
	s := &propagationSim{rng: rand.New(rand.NewPCG(seed, 1)), loss: loss, reached: make([]time.Duration, n)}
	keys := testKeys()
	for i := range n {
		set, err := NewSet(testConfig(), keys)
		if err != nil {
			t.Fatal(err)
		}
		s.sets = append(s.sets, set)
		s.region = append(s.region, i%4)
		s.reached[i] = -1
	}
	// A random mesh of meshDegree peers each, made symmetric as gossip
	// meshes are.
	links := make([]map[int]bool, n)
	for i := range links {
		links[i] = map[int]bool{}
	}
	for i := range n {
		for len(links[i]) < meshDegree {
			j := s.rng.IntN(n)
			if j != i {
				links[i][j], links[j][i] = true, true
			}
		}
	}
	for i := range n {
		peers := make([]int, 0, len(links[i]))
		for j := range links[i] {
			peers = append(peers, j)
		}
		slices.Sort(peers)
		s.mesh = append(s.mesh, peers)
	}
	return s
}

func (s *propagationSim) send(at time.Duration, from, to int, t Tombstone) {
	if s.rng.Float64() < s.loss {
		return
	}
	lat := regionLatency[s.region[from]][s.region[to]] * time.Millisecond
	jitter := time.Duration(s.rng.Int64N(int64(lat / 5)))
	heap.Push(&s.queue, gossipEvent{at: at + lat + jitter, from: from, to: to, t: t})
}

// run publishes t from node origin to its mesh peers (in a large
// federation a node is connected to a few peers, not to everyone) and
// returns when the last node applied it, or -1 if some node never did.
func (s *propagationSim) run(tb testing.TB, origin int, t Tombstone) time.Duration {
	if _, err := s.sets[origin].Apply(t, epoch); err != nil {
		tb.Fatal(err)
	}
	s.reached[origin] = 0
	for _, to := range s.mesh[origin] {
		s.send(0, origin, to, t)
	}
	for s.queue.Len() > 0 {
		e := heap.Pop(&s.queue).(gossipEvent)
		changed, err := s.sets[e.to].Apply(e.t, epoch.Add(e.at))
		if err != nil {
			tb.Fatalf("node %d: %v", e.to, err)
		}
		if !changed {
			continue
		}
		s.reached[e.to] = e.at
		for _, p := range s.mesh[e.to] {
			if p != e.from {
				s.send(e.at, e.to, p, t)
			}
		}
	}
	last := time.Duration(0)
	for _, r := range s.reached {
		if r < 0 {
			return -1
		}
		last = max(last, r)
	}
	return last
}

// TestPropagationReachesEveryNode: with 20% of messages lost, a tombstone
// still reaches all of 100 nodes well inside 5 s (the bound).
func TestPropagationReachesEveryNode(t *testing.T) {
	for seed := range uint64(5) {
		s := newPropagationSim(t, 100, 0.2, seed)
		got := s.run(t, 0, signed(t, objA, KindOwner, 1, true, epoch))
		if got < 0 || got > 5*time.Second {
			t.Errorf("seed %d: tombstone reached every node after %v, want within 5 s", seed, got)
		}
	}
}

// BenchmarkPropagation reports the simulated time for a tombstone to reach
// every node, for 100, 300 and 1000 nodes with 5% loss (median of seeds).
func BenchmarkPropagation(b *testing.B) {
	for _, n := range []int{100, 300, 1000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			var times []time.Duration
			for i := range b.N {
				s := newPropagationSim(b, n, 0.05, uint64(i))
				times = append(times, s.run(b, 0, signed(b, objA, KindOwner, 1, true, epoch)))
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Milliseconds()), "sim-ms-to-all-nodes")
		})
	}
}
