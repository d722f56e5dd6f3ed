package replication

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// sim is a fake network of cores in one goroutine, driven by a fake clock.
// Links can be cut, nodes isolated (alive but unreachable) or killed
// (stopped), and messages dropped or delayed.
type sim struct {
	t          *testing.T
	now        time.Time
	step       time.Duration
	delay      time.Duration
	fetch      time.Duration // how long a fetch takes
	nodes      []*simNode
	byID       map[PeerID]*simNode
	members    []Member
	cut        map[[2]PeerID]bool
	drop       func(from, to PeerID) bool
	queue      []delivery
	seq        int
	fetched    []fetchEvent // every fetch started, in order
	published  int          // attestations gossiped
	statements int          // statements sent
}

type simNode struct {
	id       PeerID
	member   Member
	core     *Core
	blocks   map[ObjectID][][]byte
	killed   bool
	isolated bool
	lies     bool // answers every challenge item with a made-up digest
	// stored is what the node persisted of its ledger, as node/ledgerstore
	// does: every attestation it published or accepted (see restart_test.go).
	stored map[recordKey]Attestation
}

type delivery struct {
	at  time.Time
	seq int
	fn  func()
}

type fetchEvent struct {
	at   time.Time
	node PeerID
	obj  ObjectID
}

type simSpec struct{ id, operator, region string }

func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("test key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func simConfig(name string) Config {
	cfg := DefaultConfig()
	cfg.Key = testKey(name)
	cfg.BindOwner = testBind
	seed := sha256.Sum256([]byte("rand " + name))
	cfg.Rand = rand.NewChaCha8(seed)
	cfg.ChallengeInterval = 2 * time.Second
	cfg.ChallengeTimeout = time.Second
	cfg.ProofFreshness = 6 * time.Second
	cfg.ReleaseGrace = 20 * time.Second
	cfg.RepairEscalation = 30 * time.Second
	return cfg
}

func newSim(t *testing.T, specs []simSpec) *sim {
	t.Helper()
	s := &sim{t: t, now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), step: 100 * time.Millisecond,
		delay: 50 * time.Millisecond, fetch: 500 * time.Millisecond, byID: map[PeerID]*simNode{}, cut: map[[2]PeerID]bool{}}
	for _, sp := range specs {
		m := Member{Peer: PeerID(sp.id), Operator: sp.operator, Region: sp.region, PublicKey: testKey(sp.id).Public().(ed25519.PublicKey)}
		s.members = append(s.members, m)
	}
	for _, m := range s.members {
		core, err := New(simConfig(string(m.Peer)), m.Peer)
		if err != nil {
			t.Fatalf("New(%s): %v", m.Peer, err)
		}
		core.SetMembers(s.members, s.now)
		n := &simNode{id: m.Peer, member: m, core: core, blocks: map[ObjectID][][]byte{}, stored: map[recordKey]Attestation{}}
		s.nodes = append(s.nodes, n)
		s.byID[m.Peer] = n
	}
	return s
}

// fiveNodes: four operators in two regions; a1 and a2 share operator A.
func fiveNodes(t *testing.T) *sim {
	return newSim(t, []simSpec{{"a1", "A", "eu"}, {"a2", "A", "eu"}, {"b", "B", "us"}, {"c", "C", "eu"}, {"d", "D", "us"}})
}

func testBlocks(obj ObjectID, n int) [][]byte {
	var out [][]byte
	for i := range n {
		b := sha256.Sum256([]byte(fmt.Sprintf("%s block %d", obj, i)))
		out = append(out, b[:])
	}
	return out
}

// add stores obj on node id as its owner.
func (s *sim) add(id string, obj ObjectID, target int) {
	n := s.byID[PeerID(id)]
	n.blocks[obj] = testBlocks(obj, 8)
	if err := n.core.SetPolicy(testPolicy(obj, 1, target), s.now); err != nil {
		s.t.Fatalf("SetPolicy: %v", err)
	}
	err := n.core.Track(obj, TrackOptions{Target: target, Leaves: 8, Pinned: true}, s.now)
	if err != nil {
		s.t.Fatalf("Track: %v", err)
	}
}

func (s *sim) reachable(from, to PeerID) bool {
	a, b := s.byID[from], s.byID[to]
	return !a.killed && !b.killed && !a.isolated && !b.isolated && !s.cut[[2]PeerID{from, to}] && !s.cut[[2]PeerID{to, from}]
}

func (s *sim) send(from, to PeerID, fn func()) {
	if !s.reachable(from, to) || (s.drop != nil && s.drop(from, to)) {
		return
	}
	s.seq++
	s.queue = append(s.queue, delivery{at: s.now.Add(s.delay), seq: s.seq, fn: func() {
		if s.reachable(from, to) {
			fn()
		}
	}})
}

func (s *sim) later(d time.Duration, fn func()) {
	s.seq++
	s.queue = append(s.queue, delivery{at: s.now.Add(d), seq: s.seq, fn: fn})
}

// run advances the clock by d, one step at a time.
func (s *sim) run(d time.Duration) {
	for end := s.now.Add(d); s.now.Before(end); {
		s.now = s.now.Add(s.step)
		s.deliver()
		for _, n := range s.nodes {
			if !n.killed {
				s.carryOut(n, n.core.Tick(s.now))
				checkRelevance(s.t, n.core)
			}
		}
	}
}

// runUntil advances until cond holds, failing after limit.
func (s *sim) runUntil(limit time.Duration, what string, cond func() bool) {
	s.t.Helper()
	for end := s.now.Add(limit); !cond(); {
		if !s.now.Before(end) {
			s.t.Fatalf("after %s: %s did not happen", limit, what)
		}
		s.run(s.step)
	}
}

func (s *sim) deliver() {
	slices.SortFunc(s.queue, func(a, b delivery) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.seq - b.seq
	})
	for len(s.queue) > 0 && !s.queue[0].at.After(s.now) {
		d := s.queue[0]
		s.queue = s.queue[1:]
		d.fn()
	}
}

func (s *sim) carryOut(n *simNode, a Actions) {
	for _, out := range a.Publish {
		n.store(out.Attestation)
		s.deliverTo(n, out)
	}
	for _, ch := range a.Challenges {
		s.challenge(n, ch)
	}
	for _, st := range a.Statements {
		s.state(n, st)
	}
	for _, f := range a.Fetches {
		s.startFetch(n, f)
	}
	for _, obj := range a.Releases {
		delete(n.blocks, obj)
	}
}

// deliverTo sends an attestation to each peer it is addressed to.
func (s *sim) deliverTo(from *simNode, out Outgoing) {
	s.published++
	for _, id := range out.To {
		to := s.byID[id]
		s.send(from.id, to.id, func() {
			err := to.core.Receive(out.Attestation, s.now)
			if err == nil {
				to.store(out.Attestation)
			} else if !errors.Is(err, ErrReplay) {
				s.t.Logf("%s receives: %v", to.id, err)
			}
		})
	}
}

// state sends a statement to its recipient.
func (s *sim) state(from *simNode, st Statement) {
	s.statements++
	to := s.byID[st.Recipient]
	if to == nil {
		return
	}
	s.send(from.id, to.id, func() {
		if err := to.core.ReceiveStatement(st, s.now); err != nil && !errors.Is(err, ErrReplay) {
			s.t.Logf("%s receives a statement: %v", to.id, err)
		}
	})
}

func (s *sim) challenge(from *simNode, ch Challenge) {
	to := s.byID[ch.Holder]
	s.send(from.id, to.id, func() {
		refuse, err := to.core.HandleChallenge(from.id, ch, s.now)
		if err != nil {
			return
		}
		resp := answer(ch, refuse, to.blocks)
		for i, it := range ch.Items {
			if !refuse[i] && len(to.blocks[it.Object]) == 0 && !to.lies {
				// As the node does: its copy is gone, it says so.
				to.core.Drop(it.Object, s.now)
				resp.Answers[i] = Answer{Refused: true}
			}
		}
		if to.lies {
			for i := range resp.Answers {
				resp.Answers[i] = Answer{Digest: sha256.Sum256([]byte(fmt.Sprint("made up ", i)))}
			}
		}
		s.send(to.id, from.id, func() {
			_, _ = from.core.ChallengeResponse(to.id, resp, expect(ch, from.blocks), s.now)
		})
	})
}

// answer is an honest holder's response to ch from its blocks.
func answer(ch Challenge, refuse []bool, blocks map[ObjectID][][]byte) Response {
	resp := Response{ID: ch.ID, Answers: make([]Answer, len(ch.Items))}
	for i, it := range ch.Items {
		if refuse[i] {
			resp.Answers[i].Refused = true
			continue
		}
		resp.Answers[i].Digest = Digest(ch.Nonce, pick(blocks[it.Object], it.Leaves))
	}
	return resp
}

// expect is what the challenger computes over its own copies: a zero
// digest for a copy it no longer has.
func expect(ch Challenge, blocks map[ObjectID][][]byte) [][32]byte {
	out := make([][32]byte, len(ch.Items))
	for i, it := range ch.Items {
		if len(blocks[it.Object]) > 0 {
			out[i] = Digest(ch.Nonce, pick(blocks[it.Object], it.Leaves))
		}
	}
	return out
}

func pick(blocks [][]byte, leaves []int) [][]byte {
	var out [][]byte
	for _, l := range leaves {
		if l < len(blocks) {
			out = append(out, blocks[l])
		}
	}
	return out
}

func (s *sim) startFetch(n *simNode, f Fetch) {
	s.fetched = append(s.fetched, fetchEvent{at: s.now, node: n.id, obj: f.Object})
	s.later(s.fetch, func() {
		if n.killed {
			return
		}
		for _, src := range s.nodes {
			if src != n && s.reachable(src.id, n.id) && len(src.blocks[f.Object]) > 0 {
				n.blocks[f.Object] = slices.Clone(src.blocks[f.Object])
				s.must(n.core.FetchDone(f.Object, len(n.blocks[f.Object]), s.now))
				return
			}
		}
		s.must(n.core.FetchDone(f.Object, 0, s.now))
	})
}

func (s *sim) must(err error) {
	if err != nil {
		s.t.Fatal(err)
	}
}

// sync runs anti-entropy both ways between two nodes, twice.
func (s *sim) sync(a, b *simNode) {
	for range 2 {
		for _, pair := range [][2]*simNode{{a, b}, {b, a}} {
			for _, att := range pair[0].core.Missing(pair[1].core.Ledger().Summary(), pair[1].id) {
				_ = pair[1].core.Receive(att, s.now)
			}
		}
	}
}

// syncAll runs anti-entropy between every reachable pair.
func (s *sim) syncAll() {
	for i, a := range s.nodes {
		for _, b := range s.nodes[i+1:] {
			if s.reachable(a.id, b.id) {
				s.sync(a, b)
			}
		}
	}
}

func (s *sim) status(id string, obj ObjectID) ObjectStatus {
	return s.byID[PeerID(id)].core.Status(obj, s.now)
}

// holdersWithBlocks lists live nodes that really store obj.
func (s *sim) holdersWithBlocks(obj ObjectID) []PeerID {
	var out []PeerID
	for _, n := range s.nodes {
		if !n.killed && len(n.blocks[obj]) > 0 {
			out = append(out, n.id)
		}
	}
	return out
}

func verifiedHolders(st ObjectStatus) map[PeerID]HolderStatus {
	out := map[PeerID]HolderStatus{}
	for _, h := range st.Holders {
		if h.State == HolderVerified {
			out[h.Peer] = h
		}
	}
	return out
}

// checkRelevance fails when the core keeps a walk of audienceHolders
// that its key still accepts but that a walk now would not give: a
// change to what the walk reads that the key missed.
func checkRelevance(t *testing.T, c *Core) {
	t.Helper()
	rel := c.rounds.relevance
	if rel.byMember == nil || rel.key != c.relevanceKey() {
		return
	}
	if now := c.audienceHolders(); !maps.EqualFunc(now, rel.byMember, maps.Equal) {
		t.Fatalf("%s keeps audience holders %v, a walk now finds %v", c.self, rel.byMember, now)
	}
}
