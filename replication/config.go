package replication

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Config tunes a Core. Start from DefaultConfig and set Key and Rand.
type Config struct {
	// Key signs this node's attestations. Required.
	Key ed25519.PrivateKey
	// Rand supplies challenge nonces, challenge IDs and leaf choices.
	// Required; tests pass a seeded source so runs repeat exactly.
	Rand io.Reader
	// Logger receives one line per rejected input. Nil discards.
	Logger *slog.Logger
	// BindOwner reads the owner key an object's ID commits to from the
	// object's root block. Policies are verified with it; nil rejects
	// every policy, so only local targets and DefaultTarget apply.
	BindOwner BindOwner

	// DefaultTarget is the target of an object whose owner's policy this
	// node does not know and that it did not add itself (default 3, the
	// node passes add.replicas). A target stated in an attestation is
	// never used: it is the holder's word, not the owner's.
	DefaultTarget int
	// MaxTarget caps the target this node works to, whatever an owner's
	// policy asks (default 16): a member may ask the federation to keep
	// its own objects, but not to have every node fetch them.
	MaxTarget int

	// ChallengeInterval is how often a holder runs a sampled round with
	// each other holder it shares objects with (default 1 min; see
	// rounds.go). Each pair is jittered by up to a tenth of the interval,
	// derived from a hash, so rounds spread out.
	ChallengeInterval time.Duration
	// ChallengeTimeout is how long a challenged holder has to answer
	// (default 30 s). No answer by then counts as "timeout".
	ChallengeTimeout time.Duration
	// ChallengeLeaves is how many random blocks the check of a new or
	// re-attested copy covers (default 4): a holder missing a fraction f
	// of the copy's blocks escapes it with probability (1-f)^4.
	ChallengeLeaves int
	// RoundSample is how many copies a pair's sampled round draws at
	// random among those the two share, one block each (default 160): a
	// holder missing a fraction f of its blocks passes a round with
	// probability (1-f)^RoundSample, so at 160 one that lost 1 % is
	// caught within three rounds with probability 1-0.99^480 > 0.99.
	RoundSample int
	// ProofFreshness is how long a passed check, or a round passed in
	// full, keeps a copy counted (default 3 × ChallengeInterval = 3 min):
	// one lost message must not drop a healthy copy, while a failed check
	// drops it at once.
	ProofFreshness time.Duration

	// RepairGrace is how long verified copies must stay below the target
	// before repair starts (default 5 s), so that a restart causes no storm.
	RepairGrace time.Duration
	// ReconnectGrace is how long after this node starts (its first Tick),
	// or gets its first connection back after losing every member, repair
	// waits before fetching around holders (default 10 s): members
	// reconnect, re-attest and are challenged again within a few seconds
	// of a restart, and until then proofs that went stale while the
	// federation was down say nothing about the copies. First placement
	// of new objects does not wait.
	ReconnectGrace time.Duration
	// RepairEscalation widens the set of candidates by one each time it
	// elapses while an object stays below target (default 1 min), so an
	// offline or failing candidate cannot stall repair forever.
	RepairEscalation time.Duration
	// ReleaseGrace is how long copies must stay above the target before
	// the lowest-ranked holder releases its copy (default 10 min).
	ReleaseGrace time.Duration
	// MaxConcurrentRepairs caps fetches started by repair (default 16:
	// four kept a burst of small objects waiting on round trips).
	MaxConcurrentRepairs int

	// MaxClockSkew is how far in the future an attestation's IssuedAt may
	// lie (default 30 s); later ones are rejected.
	MaxClockSkew time.Duration
	// ChallengeRate and ChallengeBurst bound the items of incoming
	// challenges per peer (defaults 5 per second, burst 50) on a node
	// with few objects; one with many allows what an honest challenger
	// needs (see challengeAllowance). A storm stays beyond both.
	ChallengeRate  float64
	ChallengeBurst int

	// MaxEntriesPerMember bounds the ledger records one member can make
	// this node keep for objects this node does not hold (default
	// 100,000, about 15 MB): a member attesting copies of made-up objects
	// is refused beyond it. Raise it for federations where one member
	// holds more objects that this node hears of.
	MaxEntriesPerMember int
	// AttestRate and AttestBurst bound attestations accepted per member
	// (defaults 200 per second, burst 20,000, or as many as the member has
	// records here, whichever is more, so a reconnecting member's catch-up
	// fits). Refused attestations are offered again by anti-entropy.
	AttestRate  float64
	AttestBurst int
}

// DefaultConfig returns the documented defaults. Key and Rand stay empty.
func DefaultConfig() Config {
	return Config{
		ChallengeInterval:    time.Minute,
		ChallengeTimeout:     30 * time.Second,
		ChallengeLeaves:      4,
		RoundSample:          160,
		ProofFreshness:       3 * time.Minute,
		RepairGrace:          5 * time.Second,
		ReconnectGrace:       10 * time.Second,
		RepairEscalation:     time.Minute,
		ReleaseGrace:         10 * time.Minute,
		MaxConcurrentRepairs: 16,
		MaxClockSkew:         30 * time.Second,
		ChallengeRate:        5,
		ChallengeBurst:       50,
		DefaultTarget:        3,
		MaxTarget:            16,
		MaxEntriesPerMember:  100_000,
		AttestRate:           200,
		AttestBurst:          20_000,
	}
}

// ErrInvalidConfig is wrapped by every error Validate returns.
var ErrInvalidConfig = errors.New("replication: invalid config")

// Validate reports the first field that is missing or out of range.
func (c Config) Validate() error {
	checks := []struct {
		bad   bool
		field string
	}{
		{len(c.Key) != ed25519.PrivateKeySize, "key"},
		{c.Rand == nil, "rand"},
		{c.ChallengeInterval <= 0, "challenge_interval"},
		{c.ChallengeTimeout <= 0 || c.ChallengeTimeout > c.ChallengeInterval, "challenge_timeout"},
		{c.ChallengeLeaves < 1 || c.ChallengeLeaves > maxChallengeLeaves, "challenge_leaves"},
		{c.RoundSample < 1 || c.RoundSample > MaxChallengeItems/2, "round_sample"},
		{c.ProofFreshness < c.ChallengeInterval, "proof_freshness"},
		{c.RepairGrace < 0, "repair_grace"},
		{c.ReconnectGrace < 0, "reconnect_grace"},
		{c.RepairEscalation <= 0, "repair_escalation"},
		{c.ReleaseGrace < 0, "release_grace"},
		{c.MaxConcurrentRepairs < 1, "max_concurrent_repairs"},
		{c.MaxClockSkew < 0, "max_clock_skew"},
		{c.ChallengeRate <= 0, "challenge_rate"},
		{c.ChallengeBurst < 1, "challenge_burst"},
		{c.MaxTarget < 1 || c.MaxTarget > maxTarget, "max_target"},
		{c.DefaultTarget < 1 || c.DefaultTarget > c.MaxTarget, "default_target"},
		{c.MaxEntriesPerMember < 1, "max_entries_per_member"},
		{c.AttestRate <= 0, "attest_rate"},
		{c.AttestBurst < 1, "attest_burst"},
	}
	for _, ch := range checks {
		if ch.bad {
			return fmt.Errorf("%w: replication.%s is invalid", ErrInvalidConfig, ch.field)
		}
	}
	return nil
}
