// Package config reads and validates a node's config.toml: the defaults come
// from the embedded configs/default.toml, the repository's file overrides
// them field by field, and every error names the field that is wrong.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/multiformats/go-multiaddr"

	"github.com/cairn-fed/cairn/configs"
)

// ErrInvalid marks every validation failure, so callers can tell a bad
// config from an unreadable one.
var ErrInvalid = errors.New("config: invalid")

// Config is a node's whole configuration, one section per component.
type Config struct {
	Swarm       Swarm       `toml:"swarm"`
	API         API         `toml:"api"`
	Add         Add         `toml:"add"`
	Fetch       Fetch       `toml:"fetch"`
	Replication Replication `toml:"replication"`
	Deletion    Deletion    `toml:"deletion"`
	Catalog     Catalog     `toml:"catalog"`
	Drill       Drill       `toml:"drill"`
	Snapshot    Snapshot    `toml:"snapshot"`
	Pins        Pins        `toml:"pins"`
	Metrics     Metrics     `toml:"metrics"`
}

// Pins configures the IPFS Pinning Service API.
type Pins struct {
	// Listen is the HOST:PORT the Pinning Service API listens on; empty:
	// the service is off.
	Listen string `toml:"listen"`
}

// Catalog tunes the owner's catalog kept in the federation.
type Catalog struct {
	// Interval batches the catalog's changes: a new version is written at
	// most this often, and this long after a change at the latest.
	Interval Duration `toml:"interval"`
}

// Drill schedules restore drills: `cairn verify` on a timer.
type Drill struct {
	// Interval is how often the node reads a sample of its owner's
	// objects back from the other members; 0 turns scheduled drills off.
	Interval Duration `toml:"interval"`
	// Sample is how many objects a scheduled drill reads.
	Sample int `toml:"sample"`
}

// Snapshot schedules snapshots of the node: `cairn snapshot` on a timer.
type Snapshot struct {
	// Interval is how often the daemon writes one; 0 turns them off.
	Interval Duration `toml:"interval"`
	// Dir is where they go, relative to the repository unless absolute.
	Dir string `toml:"dir"`
	// Keep is how many of the newest scheduled snapshots stay in Dir and
	// in the federation.
	Keep int `toml:"keep"`
	// KeepFor, when set, also removes snapshots older than this; the
	// newest always stays.
	KeepFor Duration `toml:"keep_for"`
	// Blocks includes every stored block.
	Blocks bool `toml:"blocks"`
	// Federation also stores each one in the federation as an object of
	// the owner's.
	Federation bool `toml:"federation"`
}

// Swarm configures the libp2p host.
type Swarm struct {
	Listen    []string `toml:"listen"`
	Bootstrap []string `toml:"bootstrap"`
	PSKFile   string   `toml:"psk_file"`
	LowWater  int      `toml:"low_water"`
	HighWater int      `toml:"high_water"`
}

// API configures the local HTTP API.
type API struct {
	Address string `toml:"address"`
}

// Add holds defaults for `cairn add`.
type Add struct {
	Replicas int `toml:"replicas"`
}

// Fetch configures how blocks are fetched from peers.
type Fetch struct {
	Timeout      Duration `toml:"timeout"`
	StallTimeout Duration `toml:"stall_timeout"`
}

// Replication tunes proof of storage, repair and release; the reasoning
// behind each default is in configs/default.toml.
type Replication struct {
	ChallengeInterval Duration `toml:"challenge_interval"`
	ChallengeTimeout  Duration `toml:"challenge_timeout"`
	ProofFreshness    Duration `toml:"proof_freshness"`
	RepairGrace       Duration `toml:"repair_grace"`
	RepairEscalation  Duration `toml:"repair_escalation"`
	// ReconnectGrace is how long after the daemon starts, or gets a first
	// connection back after losing every member, repair waits for members
	// to reconnect and prove their copies again.
	ReconnectGrace  Duration `toml:"reconnect_grace"`
	ReleaseGrace    Duration `toml:"release_grace"`
	RepairMiBPerSec int      `toml:"repair_mib_per_second"`
	// RepairConcurrency is how many objects repair fetches at once.
	RepairConcurrency int `toml:"max_concurrent_repairs"`
	// MaxEntriesPerMember bounds the records one member can make this node
	// keep of copies of objects this node does not hold.
	MaxEntriesPerMember int `toml:"max_entries_per_member"`
	// MaxAttestationsPerSecond bounds the attestations accepted from one
	// member each second.
	MaxAttestationsPerSecond int `toml:"max_attestations_per_second"`
	// MaxTarget caps the copies this node works to for any object.
	MaxTarget int `toml:"max_target"`
}

// Deletion tunes tombstones: the undo window, how long full tombstones are
// kept, and when a silent holder is flagged; see configs/default.toml.
type Deletion struct {
	TrashWindow Duration `toml:"trash_window"`
	Retention   Duration `toml:"retention"`
	AckTimeout  Duration `toml:"ack_timeout"`
}

// Duration is a time.Duration written as a Go duration string in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration such as "90s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration like \"90s\" or \"10m\": %q", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default returns the configuration in configs/default.toml.
func Default() Config {
	c, err := decode(Config{}, configs.Default)
	if err != nil {
		panic(fmt.Sprintf("embedded default config is broken: %v", err))
	}
	return c
}

// Parse reads a config file's bytes over the defaults and validates the result.
func Parse(data []byte) (Config, error) {
	c, err := decode(Default(), data)
	if err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

func decode(base Config, data []byte) (Config, error) {
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&base)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		return Config{}, fmt.Errorf("%w: unknown field %s (see configs/default.toml for the fields there are)", ErrInvalid, undecoded[0])
	}
	return base, nil
}

// Validate checks every field and names the first one that is wrong.
func (c Config) Validate() error {
	for _, check := range []func() error{c.validateSwarm, c.validateAPI, c.validateAdd, c.validateFetch, c.validateReplication, c.validateDeletion, c.validateCatalog, c.validateDrill, c.validateSnapshot, c.validatePins, c.validateMetrics} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c Config) validateSwarm() error {
	if len(c.Swarm.Listen) == 0 {
		return invalid("swarm.listen", "needs at least one multiaddr")
	}
	for i, a := range c.Swarm.Listen {
		ma, err := multiaddr.NewMultiaddr(a)
		if err != nil {
			return invalid(fmt.Sprintf("swarm.listen[%d]", i), "%q is not a multiaddr: %v", a, err)
		}
		if _, err := ma.ValueForProtocol(multiaddr.P_QUIC_V1); err == nil && c.Swarm.PSKFile != "" {
			return invalid(fmt.Sprintf("swarm.listen[%d]", i), "%q is QUIC, which cannot carry the private-network key of swarm.psk_file; listen on TCP only", a)
		}
	}
	for i, a := range c.Swarm.Bootstrap {
		if err := checkPeerAddr(a); err != nil {
			return invalid(fmt.Sprintf("swarm.bootstrap[%d]", i), "%v", err)
		}
	}
	if c.Swarm.LowWater < 1 || c.Swarm.HighWater < c.Swarm.LowWater {
		return invalid("swarm.low_water", "must be at least 1 and at most swarm.high_water (got %d and %d)", c.Swarm.LowWater, c.Swarm.HighWater)
	}
	return nil
}

func checkPeerAddr(a string) error {
	ma, err := multiaddr.NewMultiaddr(a)
	if err != nil {
		return fmt.Errorf("%q is not a multiaddr: %v", a, err)
	}
	if _, err := ma.ValueForProtocol(multiaddr.P_P2P); err != nil {
		return fmt.Errorf("%q has no /p2p/PEER_ID part", a)
	}
	return nil
}

func (c Config) validateAPI() error {
	ap, err := netip.ParseAddrPort(c.API.Address)
	if err != nil {
		return invalid("api.address", "%q is not HOST:PORT with a numeric IP", c.API.Address)
	}
	if !ap.Addr().IsLoopback() {
		return invalid("api.address", "%q is not a loopback address; the API serves decrypted data and must stay on 127.0.0.1 or [::1]", c.API.Address)
	}
	return nil
}

func (c Config) validatePins() error {
	if c.Pins.Listen == "" {
		return nil
	}
	if _, err := netip.ParseAddrPort(c.Pins.Listen); err != nil {
		return invalid("pins.listen", "%q is not HOST:PORT with a numeric IP (empty: the Pinning Service API is off)", c.Pins.Listen)
	}
	return nil
}

func (c Config) validateAdd() error {
	if c.Add.Replicas < 1 || c.Add.Replicas > 64 {
		return invalid("add.replicas", "must be between 1 and 64, got %d", c.Add.Replicas)
	}
	return nil
}

func (c Config) validateFetch() error {
	if c.Fetch.Timeout.Duration < time.Second {
		return invalid("fetch.timeout", "must be at least 1s, got %s", c.Fetch.Timeout)
	}
	if s := c.Fetch.StallTimeout.Duration; s < time.Second || s > c.Fetch.Timeout.Duration {
		return invalid("fetch.stall_timeout", "must be at least 1s and at most fetch.timeout (%s), got %s", c.Fetch.Timeout, c.Fetch.StallTimeout)
	}
	return nil
}

func (c Config) validateReplication() error {
	r := c.Replication
	switch {
	case r.ChallengeInterval.Duration <= 0:
		return invalid("replication.challenge_interval", "must be positive, got %s", r.ChallengeInterval)
	case r.ChallengeTimeout.Duration <= 0 || r.ChallengeTimeout.Duration > r.ChallengeInterval.Duration:
		return invalid("replication.challenge_timeout", "must be positive and at most replication.challenge_interval, got %s", r.ChallengeTimeout)
	case r.ProofFreshness.Duration < r.ChallengeInterval.Duration:
		return invalid("replication.proof_freshness", "must be at least replication.challenge_interval, got %s", r.ProofFreshness)
	case r.RepairGrace.Duration < 0:
		return invalid("replication.repair_grace", "must not be negative, got %s", r.RepairGrace)
	case r.ReconnectGrace.Duration < 0:
		return invalid("replication.reconnect_grace", "must not be negative, got %s", r.ReconnectGrace)
	case r.RepairEscalation.Duration <= 0:
		return invalid("replication.repair_escalation", "must be positive, got %s", r.RepairEscalation)
	case r.ReleaseGrace.Duration < 0:
		return invalid("replication.release_grace", "must not be negative, got %s", r.ReleaseGrace)
	case r.RepairConcurrency < 1:
		return invalid("replication.max_concurrent_repairs", "must be at least 1, got %d", r.RepairConcurrency)
	case r.RepairMiBPerSec < 0:
		return invalid("replication.repair_mib_per_second", "must not be negative (0: no limit), got %d", r.RepairMiBPerSec)
	case r.MaxEntriesPerMember < 1:
		return invalid("replication.max_entries_per_member", "must be at least 1, got %d", r.MaxEntriesPerMember)
	case r.MaxAttestationsPerSecond < 1:
		return invalid("replication.max_attestations_per_second", "must be at least 1, got %d", r.MaxAttestationsPerSecond)
	case r.MaxTarget < c.Add.Replicas || r.MaxTarget > 255:
		return invalid("replication.max_target", "must be between add.replicas (%d) and 255, got %d", c.Add.Replicas, r.MaxTarget)
	}
	return nil
}

func (c Config) validateDeletion() error {
	d := c.Deletion
	switch {
	case d.TrashWindow.Duration <= 0:
		return invalid("deletion.trash_window", "must be positive, got %s", d.TrashWindow)
	case d.Retention.Duration < d.TrashWindow.Duration:
		return invalid("deletion.retention", "must be at least deletion.trash_window (%s), got %s", d.TrashWindow, d.Retention)
	case d.AckTimeout.Duration <= 0:
		return invalid("deletion.ack_timeout", "must be positive, got %s", d.AckTimeout)
	}
	return nil
}

func (c Config) validateCatalog() error {
	if i := c.Catalog.Interval.Duration; i < 100*time.Millisecond || i > 24*time.Hour {
		return invalid("catalog.interval", "must be between 100ms and 24h, got %s", i)
	}
	return nil
}

func (c Config) validateDrill() error {
	d := c.Drill
	switch {
	case d.Interval.Duration != 0 && (d.Interval.Duration < time.Second || d.Interval.Duration > 90*24*time.Hour):
		return invalid("drill.interval", "must be 0 (off) or between 1s and 2160h, got %s", d.Interval)
	case d.Sample < 1 || d.Sample > 10000:
		return invalid("drill.sample", "must be between 1 and 10000, got %d", d.Sample)
	}
	return nil
}

func (c Config) validateSnapshot() error {
	s := c.Snapshot
	switch {
	case s.Interval.Duration != 0 && (s.Interval.Duration < time.Second || s.Interval.Duration > 90*24*time.Hour):
		return invalid("snapshot.interval", "must be 0 (off) or between 1s and 2160h, got %s", s.Interval)
	case s.Interval.Duration != 0 && s.Dir == "":
		return invalid("snapshot.dir", "must name a directory when snapshot.interval is set")
	case s.Keep < 1 || s.Keep > 10000:
		return invalid("snapshot.keep", "must be between 1 and 10000, got %d", s.Keep)
	case s.KeepFor.Duration < 0:
		return invalid("snapshot.keep_for", "must be 0 (no age limit) or positive, got %s", s.KeepFor)
	}
	return nil
}

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// Render returns the default config file with the listen and API addresses
// replaced, keeping every comment. Empty arguments keep the defaults.
func Render(listen []string, api string) ([]byte, error) {
	out := string(configs.Default)
	if len(listen) > 0 {
		quoted := make([]string, len(listen))
		for i, l := range listen {
			quoted[i] = fmt.Sprintf("%q", l)
		}
		out = setLine(out, "swarm", "listen", "["+strings.Join(quoted, ", ")+"]")
	}
	if api != "" {
		out = setLine(out, "api", "address", fmt.Sprintf("%q", api))
	}
	if _, err := Parse([]byte(out)); err != nil {
		return nil, err
	}
	return []byte(out), nil
}
