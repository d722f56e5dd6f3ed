package replication

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// scaleSim is a discrete-event network of many cores in one goroutine,
// for the scale simulation (scale_test.go). Unlike sim it keeps no blocks
// and ticks no idle core: events wait in a heap ordered by time, a core
// ticks scaleTickGap after an input reaches it (as node.replicationLoop
// does) and otherwise once every scalePeriod, which bounds how late a
// timer of the core (a challenge due, a grace ending, a deadline) is
// noticed. Everything random comes from seeded ChaCha8 sources, so a run
// repeats exactly.
type scaleSim struct {
	t    testing.TB
	cfg  scaleConfig
	base time.Time
	now  time.Duration // since base
	rng  *rand.Rand
	// syncRng draws the peer of each periodic anti-entropy exchange.
	syncRng *rand.Rand
	queue   eventQueue
	seq     uint64
	nodes   []*scaleNode
	byID    map[PeerID]*scaleNode
	// apart holds the pairs that may connect again and have not yet
	// (reconnect).
	apart map[[2]int32]bool
	// owners holds, by node, the key that signs the policies of the
	// objects it owns (object i belongs to node i mod nodes).
	owners  []ed25519.PrivateKey
	objs    []scaleObject // by object index
	backed  int           // objects whose observer counts them backed up
	reached int           // objects backed up at least once since resetReached
	over    int           // objects with more copies than the target
	under   int           // objects with fewer copies than the target
	copies  int           // copies held in all (the simulation's truth)
	tally   scaleTally
	rejects map[string]int // inputs a core refused, by reason
	events  int64          // run so far
	logged  time.Time      // wall time of the last progress line
	// drop, when set, loses the messages it returns true for, as if at
	// random (tests of one lost message).
	drop func(kind int, from, to *scaleNode) bool
}

// scaleObject is what the simulation tracks of one object.
type scaleObject struct {
	observer int32 // the node whose Status decides "backed up"
	copies   uint8 // nodes that hold it
	backed   bool
	reached  bool // backed up at some time since resetReached
}

type scaleNode struct {
	idx     int32
	id      PeerID
	region  int
	core    *Core
	dark    bool // cut off from every other node
	held    int  // copies it holds
	tickDue bool // an input tick is queued
	// outbox holds, by peer index, the attestations not delivered yet
	// (scaledeliver_test.go).
	outbox map[int32]*scaleOutbox
}

// Message kinds, for the byte tally.
const (
	msgAttest = iota
	msgChallenge
	msgResponse
	msgStatement
	msgSync // anti-entropy: a summary, or the attestations answering it
	msgKinds
)

// scaleTally counts what crossed the simulated network.
type scaleTally struct {
	msgs       [msgKinds]int64 // put on the wire, lost ones included
	bytes      [msgKinds]int64 // encoding plus scaleOverhead, per message
	lost       int64           // dropped at random (cfg.loss)
	held       int64           // not sent: sender and receiver are cut off
	fetches    int64           // fetches that brought a copy
	fetchFails int64
	darkFetch  int64 // fetches started by a node cut off from every other
	noSource   int64 // fetches started with an empty From
	fetchBytes int64 // objectSize per successful fetch: repair traffic
	ticks      int64
	syncAtts   int64 // attestations anti-entropy answers carried
	signed     int64 // attestations signed (each sent to its whole To)
	replays    int64 // attestations received not newer than the record
	resent     int64 // attestations sent again from an outbox
}

func (a scaleTally) sub(b scaleTally) scaleTally {
	for k := range msgKinds {
		a.msgs[k] -= b.msgs[k]
		a.bytes[k] -= b.bytes[k]
	}
	a.lost -= b.lost
	a.held -= b.held
	a.fetches -= b.fetches
	a.fetchFails -= b.fetchFails
	a.darkFetch -= b.darkFetch
	a.noSource -= b.noSource
	a.fetchBytes -= b.fetchBytes
	a.ticks -= b.ticks
	a.syncAtts -= b.syncAtts
	a.signed -= b.signed
	a.replays -= b.replays
	a.resent -= b.resent
	return a
}

func (a scaleTally) messages() (n int64) {
	for k := range msgKinds {
		n += a.msgs[k]
	}
	return n
}

func (a scaleTally) control() (n int64) {
	for k := range msgKinds {
		n += a.bytes[k]
	}
	return n
}

const (
	// scaleOverhead is added to every message's encoding: about what
	// TCP/IP (40 bytes a packet), a TLS record (22), a yamux frame (12)
	// and a length prefix add to a small message that fits one packet.
	scaleOverhead = 80
	scaleLeaves   = 8                     // blocks per object
	scaleTickGap  = 5 * time.Millisecond  // as node's minTickGap
	scalePeriod   = time.Second           // idle tick (the node's is 100 ms)
	scaleJitter   = 5 * time.Millisecond  // added to each message's latency
	scaleLocal    = 10 * time.Millisecond // one-way latency inside a region
	scaleFar      = 30 * time.Millisecond // plus this per region of distance
)

func newScaleSim(t testing.TB, cfg scaleConfig) *scaleSim {
	s := &scaleSim{t: t, cfg: cfg, logged: time.Now(), base: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		rng: rand.New(rand.NewChaCha8(seedOf("scale loss", cfg.seed))), byID: map[PeerID]*scaleNode{},
		syncRng: rand.New(rand.NewChaCha8(seedOf("scale sync", cfg.seed))),
		objs:    make([]scaleObject, cfg.objects), rejects: map[string]int{}}
	members := make([]Member, cfg.nodes)
	for i := range members {
		id := scalePeer(i)
		members[i] = Member{Peer: id, Operator: fmt.Sprintf("op-%d", i), Region: fmt.Sprintf("region-%d", i%cfg.regions),
			PublicKey: testKey(string(id)).Public().(ed25519.PublicKey)}
		s.owners = append(s.owners, testKey("owner "+string(id)))
	}
	for i, m := range members {
		core, err := New(s.coreConfig(m.Peer), m.Peer)
		if err != nil {
			t.Fatalf("New(%s): %v", m.Peer, err)
		}
		core.SetMembers(members, s.time())
		n := &scaleNode{idx: int32(i), id: m.Peer, region: i % cfg.regions, core: core}
		s.nodes = append(s.nodes, n)
		s.byID[m.Peer] = n
		s.push(event{at: scalePeriod * time.Duration(i) / time.Duration(cfg.nodes), kind: evPeriodic, to: n.idx})
		s.push(event{at: scaleSyncPeriod * time.Duration(i+1) / time.Duration(cfg.nodes), kind: evSync, to: n.idx})
	}
	return s
}

// coreConfig is DefaultConfig with a node's key, seeded randomness and the
// simulation's owner binding.
func (s *scaleSim) coreConfig(id PeerID) Config {
	cfg := DefaultConfig()
	cfg.Key = testKey(string(id))
	cfg.Rand = rand.NewChaCha8(seedOf("rand "+string(id), s.cfg.seed))
	cfg.BindOwner = s.bind
	return cfg
}

func seedOf(label string, seed uint64) [32]byte {
	return sha256.Sum256(binary.BigEndian.AppendUint64([]byte(label), seed))
}

var scaleBase32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// scaleID is a name of the given length: prefix, characters that look
// random (so sorting and hashing cost what real IDs do), and i in the
// last seven characters, where scaleIndex reads it back.
func scaleID(prefix string, i, length int) string {
	h := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(prefix), uint64(i)))
	body := strings32(h[:])
	return fmt.Sprintf("%s%s%07d", prefix, body[:length-len(prefix)-7], i)
}

func strings32(b []byte) string {
	return string(bytes.ToLower([]byte(scaleBase32.EncodeToString(b))))
}

// scalePeer and scaleObjectID have the lengths of libp2p peer IDs (52)
// and CIDv1 strings (59).
func scalePeer(i int) PeerID         { return PeerID(scaleID("12D3KooW", i, 52)) }
func scaleObjectID(i int) ObjectID   { return ObjectID(scaleID("bafkrei", i, 59)) }
func scaleIndex[S ~string](id S) int { return atoi7(string(id[len(id)-7:])) }

func atoi7(s string) int {
	n := 0
	for i := range len(s) {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// scaleRoot stands in for object i's root block: it carries the owner key.
func scaleRoot(obj ObjectID, owner ed25519.PublicKey) []byte {
	return append([]byte(testRootPrefix+string(obj)+":"), owner...)
}

// bind is the owner binding of the simulation: object i's root carries
// the owner key of node i mod nodes, and no other root binds.
func (s *scaleSim) bind(obj ObjectID, root []byte) (ed25519.PublicKey, error) {
	i := scaleIndex(obj)
	if i >= len(s.objs) || scaleObjectID(i) != obj {
		return nil, fmt.Errorf("no object %s: %w", obj, ErrNotBound)
	}
	owner := s.owners[i%len(s.nodes)].Public().(ed25519.PublicKey)
	if !bytes.Equal(root, scaleRoot(obj, owner)) {
		return nil, fmt.Errorf("root does not hash to %s: %w", obj, ErrNotBound)
	}
	return owner, nil
}

// scaleBlocks derives the chosen blocks of an object on the fly: block l
// is SHA-256(object, l). Every holder computes the same bytes, so nothing
// is stored.
func scaleBlocks(obj ObjectID, leaves []int) [][]byte {
	out := make([][]byte, len(leaves))
	for i, l := range leaves {
		b := sha256.Sum256(binary.BigEndian.AppendUint32([]byte(obj), uint32(l)))
		out[i] = b[:]
	}
	return out
}

// add makes object i's owner add it with the scenario's target.
func (s *scaleSim) add(i int) {
	obj, n := scaleObjectID(i), s.nodes[i%len(s.nodes)]
	key := s.owners[n.idx]
	p := Policy{Object: obj, Root: scaleRoot(obj, key.Public().(ed25519.PublicKey)), Version: 1, Target: s.cfg.target}
	p.Sign(key)
	now := s.time()
	if err := n.core.SetPolicy(p, now); err != nil {
		s.t.Fatalf("SetPolicy(%s): %v", obj, err)
	}
	if err := n.core.Track(obj, TrackOptions{Target: s.cfg.target, Leaves: scaleLeaves, Pinned: true}, now); err != nil {
		s.t.Fatalf("Track(%s): %v", obj, err)
	}
	s.objs[i].observer = n.idx
	s.under++
	s.addCopies(n, i, 1)
	s.wake(n)
}

func (s *scaleSim) time() time.Time { return s.base.Add(s.now) }

// Events.

type evKind uint8

const (
	evTick     evKind = iota // an input tick of node to
	evPeriodic               // the idle tick of node to, which queues the next
	evAttest                 // att arrives at to from from
	evSync                   // the periodic anti-entropy of node to, which queues the next
	evFunc                   // fn runs
)

type event struct {
	at       time.Duration
	seq      uint64
	fn       func()
	att      *Attestation // shared by every receiver of one Outgoing
	to, from int32
	kind     evKind
}

// eventQueue is a binary min-heap by (at, seq).
type eventQueue []event

func (q eventQueue) less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}

func (q *eventQueue) push(e event) {
	*q = append(*q, e)
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *eventQueue) pop() event {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = event{}
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h.less(l, m) {
			m = l
		}
		if r < len(h) && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}

func (s *scaleSim) push(e event) {
	s.seq++
	e.seq = s.seq
	s.queue.push(e)
}

// step runs the next event.
func (s *scaleSim) step() {
	e := s.queue.pop()
	s.now = e.at
	if s.events++; s.events%(1<<16) == 0 {
		s.progress()
	}
	switch e.kind {
	case evTick:
		n := s.nodes[e.to]
		n.tickDue = false
		s.tick(n)
	case evPeriodic:
		s.tick(s.nodes[e.to])
		e.at += scalePeriod
		s.push(e)
	case evSync:
		s.periodicSync(s.nodes[e.to])
		e.at += scaleSyncPeriod
		s.push(e)
	case evAttest:
		s.delivered(s.nodes[e.from], s.nodes[e.to], e.att)
	case evFunc:
		e.fn()
	}
}

// progress logs a line every half minute of wall time, for long runs.
func (s *scaleSim) progress() {
	if time.Since(s.logged) < 30*time.Second {
		return
	}
	s.logged = time.Now()
	s.t.Logf("  at %s: %d events, %d queued, %d of %d objects backed up (%d since the phase began), %d copies",
		s.now.Round(time.Millisecond), s.events, len(s.queue), s.backed, len(s.objs), s.reached, s.copies)
}

// run advances the clock by d.
func (s *scaleSim) run(d time.Duration) {
	end := s.now + d
	for len(s.queue) > 0 && s.queue[0].at <= end {
		s.step()
	}
	s.now = end
}

// runUntil runs until done holds or limit passes; it returns how long
// that took and whether done held.
func (s *scaleSim) runUntil(limit time.Duration, done func() bool) (time.Duration, bool) {
	start := s.now
	for !done() {
		if len(s.queue) == 0 || s.queue[0].at > start+limit {
			s.now = start + limit
			return limit, false
		}
		s.step()
	}
	return s.now - start, true
}

// The network.

// linked reports whether messages pass between a and b: a dark node is cut
// off from every other, and a pair healing is cut off until it connects.
func (s *scaleSim) linked(a, b *scaleNode) bool {
	return !a.dark && !b.dark && (len(s.apart) == 0 || !s.apart[pairOf(a, b)])
}

func (s *scaleSim) latency(a, b *scaleNode) time.Duration {
	d := max(a.region-b.region, b.region-a.region)
	return scaleLocal + time.Duration(d)*scaleFar + time.Duration(s.rng.Int64N(int64(scaleJitter)))
}

// send counts one message of kind and size from a to b and returns when
// it arrives, or false when it does not: a and b are cut off (a node does
// not send to a peer it has lost; nothing is counted), or the message is
// lost at random (counted: it was sent).
func (s *scaleSim) send(a, b *scaleNode, kind, size int) (time.Duration, bool) {
	if !s.linked(a, b) {
		s.tally.held++
		return 0, false
	}
	s.tally.msgs[kind]++
	s.tally.bytes[kind] += int64(size + scaleOverhead)
	if s.rng.Float64() < s.cfg.loss || (s.drop != nil && s.drop(kind, a, b)) {
		s.tally.lost++
		return 0, false
	}
	return s.now + s.latency(a, b), true
}

// post sends a message that runs fn on arrival, if a and b are still
// linked then.
func (s *scaleSim) post(a, b *scaleNode, kind, size int, fn func()) {
	if at, ok := s.send(a, b, kind, size); ok {
		s.push(event{at: at, kind: evFunc, fn: func() {
			if s.linked(a, b) {
				fn()
			}
		}})
	}
}

func (s *scaleSim) encodedLen(m encoding.BinaryMarshaler) int {
	b, err := m.MarshalBinary()
	if err != nil {
		s.t.Fatalf("encode %T: %v", m, err)
	}
	return len(b)
}

// wake queues an input tick of n, unless one is queued.
func (s *scaleSim) wake(n *scaleNode) {
	if !n.tickDue {
		n.tickDue = true
		s.push(event{at: s.now + scaleTickGap, kind: evTick, to: n.idx})
	}
}

// Driving the cores.

func (s *scaleSim) tick(n *scaleNode) {
	s.tally.ticks++
	s.carryOut(n, n.core.Tick(s.time()))
}

func (s *scaleSim) carryOut(n *scaleNode, a Actions) {
	for i := range a.Publish {
		s.publish(n, &a.Publish[i])
	}
	for _, ch := range a.Challenges {
		s.challenge(n, ch)
	}
	for i := range a.Statements {
		s.state(n, &a.Statements[i])
	}
	for _, f := range a.Fetches {
		s.fetch(n, f)
	}
	for _, obj := range a.Releases {
		s.addCopies(n, scaleIndex(obj), -1)
	}
	for _, obj := range a.Changed {
		if i := scaleIndex(obj); s.objs[i].observer == n.idx {
			s.judge(i, obj)
		}
	}
}

// publish delivers one attestation to every peer it is addressed to.
func (s *scaleSim) publish(n *scaleNode, out *Outgoing) {
	att := &out.Attestation
	size := s.encodedLen(att)
	if att.Holder == n.id && att.IssuedAt.Equal(s.time().Truncate(time.Millisecond)) {
		s.tally.signed++ // not a record tellNewcomers passes on
	}
	for _, p := range out.To {
		s.deliver(n, s.byID[p], att, size)
	}
}

// state sends a node's statement to its recipient.
func (s *scaleSim) state(from *scaleNode, st *Statement) {
	to := s.byID[st.Recipient]
	if to == nil {
		return
	}
	s.post(from, to, msgStatement, s.encodedLen(st), func() { s.acceptStatement(to, st) })
}

// challenge carries one round to its holder and the answer back. It is
// the only code that knows how a round is answered.
func (s *scaleSim) challenge(from *scaleNode, ch Challenge) {
	to := s.byID[ch.Holder]
	s.post(from, to, msgChallenge, s.encodedLen(&ch), func() {
		refuse, err := to.core.HandleChallenge(from.id, ch, s.time())
		if err != nil {
			s.reject("challenge", err)
			return
		}
		resp := Response{ID: ch.ID, Answers: make([]Answer, len(ch.Items))}
		want := make([][32]byte, len(ch.Items))
		for i, it := range ch.Items {
			want[i] = Digest(ch.Nonce, scaleBlocks(it.Object, it.Leaves))
			if refuse[i] {
				resp.Answers[i].Refused = true
			} else {
				resp.Answers[i].Digest = want[i]
			}
		}
		s.post(to, from, msgResponse, s.encodedLen(&resp), func() {
			if _, err := from.core.ChallengeResponse(to.id, resp, want, s.time()); err != nil {
				s.reject("response", err)
			}
			s.wake(from)
		})
	})
}

// fetchTime is how long one fetch takes: a round trip, then the object at
// the node's bandwidth shared by every fetch it may run at once.
func (s *scaleSim) fetchTime() time.Duration {
	share := float64(s.cfg.bandwidth) / float64(DefaultConfig().MaxConcurrentRepairs)
	return 2*(scaleLocal+scaleFar) + time.Duration(float64(s.cfg.objectSize)/share*float64(time.Second))
}

// fetch runs one Fetch: it succeeds after fetchTime if a source it names
// is linked and holds the object then and when it ends; with no such
// source it fails after a round trip.
func (s *scaleSim) fetch(n *scaleNode, f Fetch) {
	s.tally.darkFetch += int64(b2i(n.dark))
	s.tally.noSource += int64(b2i(len(f.From) == 0))
	took := 2 * (scaleLocal + scaleFar)
	if s.source(n, f) {
		took = s.fetchTime()
	}
	s.push(event{at: s.now + took, kind: evFunc, fn: func() {
		leaves := 0
		if s.source(n, f) {
			leaves = scaleLeaves
		}
		if err := n.core.FetchDone(f.Object, leaves, s.time()); err != nil {
			s.t.Fatalf("FetchDone(%s) on %s: %v", f.Object, n.id, err)
		}
		if leaves == 0 {
			s.tally.fetchFails++
		} else {
			s.tally.fetches++
			s.tally.fetchBytes += s.cfg.objectSize
			s.addCopies(n, scaleIndex(f.Object), 1)
		}
		s.wake(n)
	}})
}

// source reports whether one of f's sources is linked to n and holds the
// object.
func (s *scaleSim) source(n *scaleNode, f Fetch) bool {
	for _, p := range f.From {
		if src := s.byID[p]; s.linked(src, n) && src.core.Holds(f.Object) {
			return true
		}
	}
	return false
}

func (s *scaleSim) reject(what string, err error) {
	for _, known := range []error{ErrRateLimited, ErrOverBound, ErrUnknownChallenge, ErrBadSignature, ErrNotBound, ErrFutureIssuedAt, ErrMalformed} {
		if errors.Is(err, known) {
			s.rejects[what+": "+known.Error()]++
			return
		}
	}
	s.rejects[what+": "+err.Error()]++
}

// Tracking "backed up" without scanning: an object's observer judges it
// whenever its Tick lists it in Changed.

// judge asks object i's observer whether it is backed up.
func (s *scaleSim) judge(i int, obj ObjectID) {
	o := &s.objs[i]
	st := s.nodes[o.observer].core.Status(obj, s.time())
	b := st.Target > 0 && st.Copies >= st.Target
	if b != o.backed {
		o.backed = b
		s.backed += 2*b2i(b) - 1
	}
	if b && !o.reached {
		o.reached = true
		s.reached++
	}
}

// resetReached starts counting anew which objects have been backed up:
// those backed up now, and the others as they get there.
func (s *scaleSim) resetReached() {
	s.reached = 0
	for i := range s.objs {
		s.objs[i].reached = s.objs[i].backed
		s.reached += b2i(s.objs[i].backed)
	}
}

// judgeAll asks every object's observer again (at phase boundaries only).
func (s *scaleSim) judgeAll() {
	for i := range s.objs {
		s.judge(i, scaleObjectID(i))
	}
}

// addCopies records that n got (or dropped) d copies of object i.
func (s *scaleSim) addCopies(n *scaleNode, i, d int) {
	n.held += d
	o, target := &s.objs[i], s.cfg.target
	c := int(o.copies)
	s.over -= b2i(c > target)
	s.under -= b2i(c < target)
	c += d
	o.copies = uint8(c)
	s.copies += d
	s.over += b2i(c > target)
	s.under += b2i(c < target)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
