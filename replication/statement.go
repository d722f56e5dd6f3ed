package replication

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"time"
)

// Statement is a verifier's signed word on its peer pairs: for each other
// holder, when its latest sampled round passed in full (see rounds.go).
// One statement covers every copy the verifier shares with each holder,
// so what keeps copies counted grows with peers, not with objects.
//
// A round it vouches for counts, at any node, only for copies the
// verifier itself attests to hold and whose latest check by the verifier,
// as its attestation of the object says, passed; and, as any proof, only
// when the verifier's operator is not the holder's.
type Statement struct {
	Verifier PeerID
	// Seq increases with every statement the verifier signs; the newest
	// wins and replaces the previous one whole.
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
	statementVersion   = 1
	statementSignLabel = "cairn/statement/v1\x00"
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

// statements is the core's side of statements: what it signs and what it
// heard.
type statements struct {
	statementDue bool      // a round passed since the latest statement
	lastSigned   Statement // the latest this node signed; Seq 0: none
	heard        map[PeerID]uint64
	limit        *limiter
}

func newStatements() statements {
	return statements{heard: map[PeerID]uint64{}, limit: newLimiter()}
}

// publishStatement signs a new statement when a round passed since the
// last one, at most every half ChallengeInterval: a pair's rounds come
// once an interval, so its evidence reaches the others at most one and a
// half intervals old, well within ProofFreshness.
func (c *Core) publishStatement(now time.Time) {
	s := &c.rounds.statements
	if !s.statementDue || (s.lastSigned.Seq != 0 && now.Sub(s.lastSigned.IssuedAt) < c.cfg.ChallengeInterval/2) {
		return
	}
	st := Statement{Verifier: c.self, Seq: max(s.lastSigned.Seq+1, uint64(now.UnixMilli())), IssuedAt: time.UnixMilli(now.UnixMilli()).UTC()}
	for _, m := range c.roster {
		if pr := c.rounds.pairs[m.Peer]; pr != nil && !pr.passedAt.IsZero() && m.Peer != c.self {
			st.Rounds = append(st.Rounds, RoundPass{Holder: m.Peer, PassedAt: time.UnixMilli(pr.passedAt.UnixMilli()).UTC()})
		}
	}
	s.statementDue = false
	if len(st.Rounds) == 0 {
		return
	}
	st.Sign(c.cfg.Key)
	s.lastSigned = st
	c.out.Statement = &st
}

// LatestStatement returns the latest statement this node signed, to hand
// a member that just connected; false when there is none.
func (c *Core) LatestStatement() (Statement, bool) {
	st := c.rounds.lastSigned
	return st, st.Seq != 0
}

// ReceiveStatement verifies a member's statement and records the rounds
// it vouches for. It returns ErrUnknownMember, ErrRevokedMember,
// ErrFutureIssuedAt, ErrReplay, ErrBadSignature, ErrOverBound or
// ErrMalformed when it rejects it. Holders that are not members are
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
