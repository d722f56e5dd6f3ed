package replication

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Statement is a verifier's signed word, to one member, on its peer
// pairs: for each other holder, when its latest sampled round passed in
// full (see rounds.go). One statement covers every copy the verifier
// shares with each holder, so what keeps copies counted grows with peers,
// not with objects.
//
// Each member gets only the holders that matter to it (see
// relevantHolders): a round vouches only for copies of objects the
// verifier holds, and the recipient counts only copies of objects it
// tracks, so a holder is listed when the three have an object in common.
// A member with none gets no statement. The recipient is part of the
// signed body, and a member refuses a statement addressed to another:
// the statement one member gets lists other holders than the one another
// gets under the same Seq, and one member must not be able to pass its
// own off to another, whose newer Seq would then refuse the verifier's
// real statement as a replay.
//
// A round it vouches for counts, at any node, only for copies the
// verifier itself attests to hold and whose latest check by the verifier,
// as its attestation of the object says, passed; and, as any proof, only
// when the verifier's operator is not the holder's.
type Statement struct {
	Verifier  PeerID
	Recipient PeerID // the member it is addressed to
	// Seq increases with every batch of statements the verifier signs
	// (one per recipient, all with the same Seq); at a recipient the
	// newest wins.
	Seq       uint64
	IssuedAt  time.Time   // millisecond precision on the wire
	Rounds    []RoundPass // sorted by holder, distinct
	Signature []byte
}

// RoundPass is one holder's latest sampled round passed in full.
type RoundPass struct {
	Holder   PeerID
	PassedAt time.Time // not after the statement's IssuedAt
}

const (
	statementVersion   = 2
	statementSignLabel = "cairn/statement/v2\x00"
	// MaxStatementRounds bounds the holders one statement lists: a
	// federation's members.
	MaxStatementRounds = 4096
)

// Sign sets st.Signature using the verifier's private key.
func (st *Statement) Sign(priv ed25519.PrivateKey) {
	st.Signature = ed25519.Sign(priv, st.appendBody([]byte(statementSignLabel)))
}

// Verify checks the signature against the verifier's public key.
func (st *Statement) Verify(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize || len(st.Signature) != ed25519.SignatureSize ||
		!ed25519.Verify(pub, st.appendBody([]byte(statementSignLabel)), st.Signature) {
		return ErrBadSignature
	}
	return nil
}

func (st *Statement) appendBody(b []byte) []byte {
	b = append(b, statementVersion)
	b = appendString(b, string(st.Verifier))
	b = appendString(b, string(st.Recipient))
	b = binary.AppendUvarint(b, st.Seq)
	b = binary.AppendVarint(b, st.IssuedAt.UnixMilli())
	b = binary.AppendUvarint(b, uint64(len(st.Rounds)))
	for _, r := range st.Rounds {
		b = appendString(b, string(r.Holder))
		b = binary.AppendVarint(b, r.PassedAt.UnixMilli())
	}
	return b
}

// check reports whether st can be encoded canonically and says nothing
// impossible: its rounds sorted and distinct, none after it was issued.
func (st *Statement) check() error {
	if len(st.Verifier) == 0 || len(st.Verifier) > maxIDLen {
		return fmt.Errorf("%w: verifier id length %d", ErrMalformed, len(st.Verifier))
	}
	if len(st.Recipient) == 0 || len(st.Recipient) > maxIDLen || st.Recipient == st.Verifier {
		return fmt.Errorf("%w: recipient id length %d, or the verifier", ErrMalformed, len(st.Recipient))
	}
	if len(st.Rounds) > MaxStatementRounds {
		return fmt.Errorf("%w: %d rounds", ErrMalformed, len(st.Rounds))
	}
	for i, r := range st.Rounds {
		switch {
		case len(r.Holder) == 0 || len(r.Holder) > maxIDLen:
			return fmt.Errorf("%w: holder id length %d", ErrMalformed, len(r.Holder))
		case i > 0 && st.Rounds[i-1].Holder >= r.Holder:
			return fmt.Errorf("%w: rounds not sorted and distinct", ErrMalformed)
		case r.Holder == st.Verifier:
			return fmt.Errorf("%w: verifier vouches for itself", ErrMalformed)
		case r.Holder == st.Recipient:
			return fmt.Errorf("%w: recipient is told of its own copies", ErrMalformed)
		case r.PassedAt.After(st.IssuedAt) || r.PassedAt.UnixMilli() <= 0:
			return fmt.Errorf("%w: round of %s at %s, statement issued at %s", ErrMalformed, r.Holder, r.PassedAt, st.IssuedAt)
		}
	}
	if len(st.Signature) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature length %d", ErrMalformed, len(st.Signature))
	}
	return nil
}

// MarshalBinary returns the canonical encoding: the signed body, then the
// signature.
func (st *Statement) MarshalBinary() ([]byte, error) {
	if err := st.check(); err != nil {
		return nil, err
	}
	return append(st.appendBody(nil), st.Signature...), nil
}

// DecodeStatement parses untrusted bytes; only canonical encodings pass.
// It does not verify the signature.
func DecodeStatement(data []byte) (Statement, error) {
	r := reader{buf: data}
	var st Statement
	if v := r.byte(); v != statementVersion {
		return st, fmt.Errorf("%w: statement version %d", ErrMalformed, v)
	}
	st.Verifier = PeerID(r.string())
	st.Recipient = PeerID(r.string())
	st.Seq = r.uvarint()
	st.IssuedAt = r.time()
	n := r.int(MaxStatementRounds)
	for range n {
		rp := RoundPass{Holder: PeerID(r.string()), PassedAt: r.time()}
		if r.err != nil {
			break
		}
		st.Rounds = append(st.Rounds, rp)
	}
	st.Signature = r.rest(ed25519.SignatureSize)
	if r.err != nil {
		return Statement{}, r.err
	}
	again, err := st.MarshalBinary()
	if err != nil {
		return Statement{}, err
	}
	if !bytes.Equal(again, data) {
		return Statement{}, fmt.Errorf("%w: statement not canonical", ErrMalformed)
	}
	return st, nil
}

// ErrMisaddressed means a statement was signed for another member.
var ErrMisaddressed = errors.New("replication: statement addressed to another member")

// statements is the core's side of statements: what it signs and what it
// heard.
type statements struct {
	statementDue bool // a round passed since the latest statement
	// seq and issuedAt are those of the latest batch this node signed;
	// seq 0: none yet.
	seq      uint64
	issuedAt time.Time
	// sent holds the latest batch, by recipient, to hand a member that
	// connects later. At most one per member, each listing at most every
	// member: it grows with the square of the federation, not with
	// objects.
	sent  map[PeerID]Statement
	heard map[PeerID]uint64
	limit *limiter
	// relevance keeps the walk relevantHolders narrows.
	relevance relevance
}

func newStatements() statements {
	return statements{heard: map[PeerID]uint64{}, limit: newLimiter()}
}

// publishStatement signs a new batch of statements when a round passed
// since the last one, at most every half ChallengeInterval: a pair's
// rounds come once an interval, so its evidence reaches the others at
// most one and a half intervals old, well within ProofFreshness. Each
// member gets the rounds relevant to it (relevantHolders), or nothing.
func (c *Core) publishStatement(now time.Time) {
	s := &c.rounds.statements
	if !s.statementDue || (s.seq != 0 && now.Sub(s.issuedAt) < c.cfg.ChallengeInterval/2) {
		return
	}
	s.statementDue = false
	rounds := c.passedRounds()
	if len(rounds) == 0 {
		return
	}
	s.seq, s.issuedAt = max(s.seq+1, uint64(now.UnixMilli())), time.UnixMilli(now.UnixMilli()).UTC()
	relevant := c.relevantHolders(rounds)
	s.sent = make(map[PeerID]Statement, len(relevant))
	for _, m := range c.roster {
		holders := relevant[m.Peer]
		if len(holders) == 0 {
			continue
		}
		st := Statement{Verifier: c.self, Recipient: m.Peer, Seq: s.seq, IssuedAt: s.issuedAt}
		for _, r := range rounds {
			if holders[r.Holder] {
				st.Rounds = append(st.Rounds, r)
			}
		}
		st.Sign(c.cfg.Key)
		s.sent[m.Peer] = st
		c.out.Statements = append(c.out.Statements, st)
	}
}

// passedRounds lists, sorted by holder, this node's latest sampled round
// passed in full with each member it rounds with.
func (c *Core) passedRounds() []RoundPass {
	var out []RoundPass
	for _, m := range c.roster {
		if pr := c.rounds.pairs[m.Peer]; pr != nil && !pr.passedAt.IsZero() && m.Peer != c.self {
			out = append(out, RoundPass{Holder: m.Peer, PassedAt: time.UnixMilli(pr.passedAt.UnixMilli()).UTC()})
		}
	}
	return out
}

// relevantHolders returns, by member R, the holders H among rounds whose
// round matters to R: this node holds an object of which H attests a
// copy and R has this node's attestation (R is in the object's audience:
// told, or a holder itself), with R, H and this node distinct. Elsewhere
// this node's round with H counts for nothing at R (judge.vouched: a
// round carries forward only checks of copies of objects the verifier
// holds, and R counts only copies of objects it tracks). What is read is
// this node's own state and holders' signed attestations: a member can
// add itself as a holder of objects this node holds, and so be told of
// rounds, but cannot take a holder or a recipient off another's list.
//
// The walk over every held object (audienceHolders) is kept while
// nothing it reads changes, so a quiet node's statements cost nothing
// per object.
func (c *Core) relevantHolders(rounds []RoundPass) map[PeerID]map[PeerID]bool {
	key := c.relevanceKey()
	rel := &c.rounds.relevance
	if rel.byMember == nil || rel.key != key {
		rel.byMember, rel.key = c.audienceHolders(), key
	}
	out := map[PeerID]map[PeerID]bool{}
	for r, holders := range rel.byMember {
		for _, rp := range rounds {
			if holders[rp.Holder] {
				if out[r] == nil {
					out[r] = map[PeerID]bool{}
				}
				out[r][rp.Holder] = true
			}
		}
	}
	return out
}

// relevance is the last walk of audienceHolders and what it read.
type relevance struct {
	key      relevanceKey
	byMember map[PeerID]map[PeerID]bool
}

// relevanceKey names the state audienceHolders reads: the ledger's
// holders of each object, this node's copies and their audiences, and
// the roster.
type relevanceKey struct {
	ledger, local, roster uint64
	locals                int
}

func (c *Core) relevanceKey() relevanceKey {
	return relevanceKey{ledger: c.ledger.holderChanges, local: c.localGen, locals: len(c.local), roster: c.rosterGen}
}

// audienceHolders returns, by member R, every other holder H of an object
// this node holds whose audience R is in: relevantHolders before it is
// narrowed to the holders this node has rounds with. It walks every held
// object once, with its holders and audience.
func (c *Core) audienceHolders() map[PeerID]map[PeerID]bool {
	out := map[PeerID]map[PeerID]bool{}
	var holders, audience []PeerID
	for obj, lo := range c.local {
		e := c.ledger.objects.get(obj)
		if !lo.held || e == nil {
			continue
		}
		holders, audience = holders[:0], append(audience[:0], lo.told...)
		for _, p := range e.pairs {
			h := PeerID(c.ledger.peers.name(p.holder))
			if p.flags&flagHeld != 0 && h != c.self {
				audience = append(audience, h)
				holders = append(holders, h)
			}
		}
		if len(holders) == 0 {
			continue
		}
		for _, r := range audience {
			c.addRelevant(out, r, holders)
		}
	}
	return out
}

// addRelevant marks holders, but r itself, relevant to member r.
func (c *Core) addRelevant(out map[PeerID]map[PeerID]bool, r PeerID, holders []PeerID) {
	if _, member := c.members[r]; !member || r == c.self {
		return
	}
	for _, h := range holders {
		if h == r {
			continue
		}
		if out[r] == nil {
			out[r] = map[PeerID]bool{}
		}
		out[r][h] = true
	}
}

// LatestStatement returns the latest statement this node signed for
// member to, to hand it when it connects; false when there is none.
func (c *Core) LatestStatement(to PeerID) (Statement, bool) {
	st, ok := c.rounds.sent[to]
	return st, ok
}

// ReceiveStatement verifies a member's statement to this node and records
// the rounds it vouches for. It returns ErrUnknownMember,
// ErrRevokedMember, ErrMisaddressed, ErrFutureIssuedAt, ErrReplay,
// ErrBadSignature, ErrOverBound or ErrMalformed when it rejects it. Holders that are not members are
// skipped. The bound is per verifier and applies after its signature is
// checked: a few statements per interval (it signs one every half).
func (c *Core) ReceiveStatement(st Statement, now time.Time) error {
	if err := st.check(); err != nil {
		return err
	}
	m, err := c.member("statement", st.Verifier)
	switch {
	case err != nil:
		return err
	case st.Verifier == c.self:
		return fmt.Errorf("statement from %s: this node's own: %w", st.Verifier, ErrReplay)
	case st.Recipient != c.self:
		return fmt.Errorf("statement from %s to %s: %w", st.Verifier, st.Recipient, ErrMisaddressed)
	case st.IssuedAt.After(now.Add(c.cfg.MaxClockSkew)):
		return fmt.Errorf("statement from %s issued at %s: %w", st.Verifier, st.IssuedAt, ErrFutureIssuedAt)
	case st.Seq <= c.rounds.heard[st.Verifier]:
		return fmt.Errorf("statement from %s seq %d, have %d: %w", st.Verifier, st.Seq, c.rounds.heard[st.Verifier], ErrReplay)
	}
	if err := st.Verify(m.PublicKey); err != nil {
		return fmt.Errorf("statement from %s: %w", st.Verifier, err)
	}
	perInterval := 10.0
	if !c.rounds.limit.allow(st.Verifier, now, perInterval/c.cfg.ChallengeInterval.Seconds(), perInterval, 1) {
		return fmt.Errorf("statement from %s: %w: more than %g per challenge interval", st.Verifier, ErrOverBound, perInterval)
	}
	c.rounds.heard[st.Verifier] = st.Seq
	for _, r := range st.Rounds {
		if _, member := c.members[r.Holder]; !member || r.Holder == c.self {
			continue
		}
		before := c.setRound(st.Verifier, r.Holder, r.PassedAt)
		if now.Sub(before) > c.cfg.ProofFreshness && now.Sub(r.PassedAt) <= c.cfg.ProofFreshness {
			// The pair's evidence was stale here and is fresh again.
			c.markPeerDirty(r.Holder)
		}
	}
	return nil
}
