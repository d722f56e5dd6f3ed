// Package repo manages a node's repository directory: its config, the libp2p
// identity, the owner's key file, the API token and address, and the lock
// that keeps a second daemon off the same directory.
package repo

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/cairn-fed/cairn/internal/atomicfile"
	"github.com/cairn-fed/cairn/internal/config"
	"github.com/cairn-fed/cairn/internal/keys"
)

// Files and directories inside a repository.
const (
	ConfigFile   = "config.toml"
	IdentityFile = "identity.key"
	OwnerFile    = "owner.key"
	TokenFile    = "api.token"
	APIFile      = "api"
	// SocketFile is the API's Unix socket while the daemon runs: a client
	// on this machine passes it the files it adds (node/api/localfile.go).
	SocketFile = "api.sock"
	PinsFile   = "pins_api" // the Pinning Service API address while the daemon runs
	LockFile   = "repo.lock"
	BlocksDir  = "blocks"
	IndexDir   = "index"
	// RosterFile holds the latest verified federation roster.
	RosterFile = "federation.roster"
	// AuthorityFile holds the federation authority key, on the node that
	// keeps it.
	AuthorityFile = "federation.authority"
	// RestoredFile marks a repository restored from a snapshot (it holds
	// the snapshot's header) until the daemon has caught up with what the
	// federation did since.
	RestoredFile = "restored.json"
	// EventsDir holds the event log.
	EventsDir = "events"
)

// Sentinel errors callers branch on.
var (
	ErrExists           = errors.New("repo: already initialised")
	ErrNotInitialised   = errors.New("repo: not initialised")
	ErrDaemonNotRunning = errors.New("repo: no cairn daemon is running for this repository")
)

// Repo is an opened repository. Opening reads the config; it does not lock.
type Repo struct {
	Dir    string
	Config config.Config
}

// ResolveDir picks the repository directory: the flag, else $CAIRN_PATH,
// else ~/.cairn.
func ResolveDir(flag string) (string, error) {
	if flag != "" {
		return filepath.Abs(flag)
	}
	if env := os.Getenv("CAIRN_PATH"); env != "" {
		return filepath.Abs(env)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the home directory for ~/.cairn (use --repo or CAIRN_PATH): %w", err)
	}
	return filepath.Join(home, ".cairn"), nil
}

// InitOptions are the choices `cairn init` offers.
type InitOptions struct {
	Listen     []string // libp2p listen multiaddrs; empty keeps the default
	API        string   // API host:port; empty keeps the default
	Pins       string   // Pinning Service API host:port; empty: off
	Passphrase []byte   // seals the owner key when not empty
	// Metrics is metrics.address and MetricsAuth metrics.auth; empty
	// keeps the defaults (no metrics listener; a token when there is one).
	Metrics, MetricsAuth string
}

// Init creates a repository in dir. It refuses if dir already holds one and
// never overwrites a key.
func Init(dir string, opts InitOptions) (*Repo, error) {
	if _, err := os.Stat(filepath.Join(dir, ConfigFile)); err == nil {
		return nil, fmt.Errorf("%w: %s holds a repository already; use it, or choose another directory with --repo", ErrExists, dir)
	}
	cfgBytes, err := renderConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create repository %s: %w", dir, err)
	}
	// MkdirAll leaves a directory that exists already with its mode (often
	// 0755), and the repository holds keys and the index.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("make repository %s private: %w", dir, err)
	}
	steps := []struct {
		path string
		make func() error
	}{
		{IdentityFile, func() error { return createIdentity(dir) }},
		{OwnerFile, func() error { return createOwner(dir, opts.Passphrase) }},
		{TokenFile, func() error { return createToken(dir) }},
		{BlocksDir, func() error { return os.Mkdir(filepath.Join(dir, BlocksDir), 0o700) }},
		// The config goes last: its presence marks a complete repository.
		{ConfigFile, func() error { return atomicfile.Create(filepath.Join(dir, ConfigFile), cfgBytes, 0o600) }},
	}
	var made []string
	for _, step := range steps {
		if err := step.make(); err != nil {
			undo(dir, made) // what this call made was never used: a retry starts clean
			return nil, existsHint(dir, err)
		}
		made = append(made, step.path)
	}
	return Open(dir)
}

// renderConfig writes the default config with the choices of opts.
func renderConfig(opts InitOptions) ([]byte, error) {
	out, err := config.Render(opts.Listen, opts.API)
	for _, f := range []struct{ key, value string }{{"metrics.address", opts.Metrics}, {"metrics.auth", opts.MetricsAuth}, {"pins.listen", opts.Pins}} {
		if err == nil && f.value != "" {
			out, err = config.Set(out, f.key, f.value)
		}
	}
	return out, err
}

// undo removes what a failed Init made, newest first.
func undo(dir string, made []string) {
	for i := len(made) - 1; i >= 0; i-- {
		os.RemoveAll(filepath.Join(dir, made[i]))
	}
}

func existsHint(dir string, err error) error {
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%w: %s already holds key material (%v); refusing to overwrite it", ErrExists, dir, err)
	}
	return err
}

func createIdentity(dir string) error {
	priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate node identity: %w", err)
	}
	data, err := crypto.MarshalPrivateKey(priv)
	if err != nil {
		return fmt.Errorf("encode node identity: %w", err)
	}
	return atomicfile.Create(filepath.Join(dir, IdentityFile), data, 0o600)
}

func createOwner(dir string, passphrase []byte) error {
	o, err := keys.Generate()
	if err != nil {
		return err
	}
	data, err := o.Marshal(passphrase)
	if err != nil {
		return err
	}
	return atomicfile.Create(filepath.Join(dir, OwnerFile), data, 0o600)
}

func createToken(dir string) error {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("generate API token: %w", err)
	}
	return atomicfile.Create(filepath.Join(dir, TokenFile), []byte(hex.EncodeToString(b)+"\n"), 0o600)
}

// Open reads the repository in dir and validates its config.
func Open(dir string) (*Repo, error) {
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: no repository at %s; create one with `cairn init --repo %s`", ErrNotInitialised, dir, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := config.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	return &Repo{Dir: dir, Config: cfg}, nil
}

// Path returns the path of a file or directory inside the repository.
func (r *Repo) Path(name string) string { return filepath.Join(r.Dir, name) }

// Identity reads the node's libp2p private key.
func (r *Repo) Identity() (crypto.PrivKey, error) {
	data, err := os.ReadFile(r.Path(IdentityFile))
	if err != nil {
		return nil, fmt.Errorf("read node identity: %w", err)
	}
	k, err := crypto.UnmarshalPrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("decode node identity %s: %w", r.Path(IdentityFile), err)
	}
	return k, nil
}

// OwnerProtected reports whether the owner key needs a passphrase.
func (r *Repo) OwnerProtected() bool {
	data, err := os.ReadFile(r.Path(OwnerFile))
	return err == nil && keys.Protected(data)
}

// Owner reads and unlocks the owner's key material.
func (r *Repo) Owner(passphrase []byte) (*keys.Owner, error) {
	data, err := os.ReadFile(r.Path(OwnerFile))
	if err != nil {
		return nil, fmt.Errorf("read owner key: %w", err)
	}
	return keys.Unmarshal(data, passphrase)
}

// WriteOwner replaces the owner's key material, sealed under the
// passphrase when one is given: `cairn recover` and `cairn key import`
// on a node whose owner has added nothing yet.
func (r *Repo) WriteOwner(o *keys.Owner, passphrase []byte) error {
	data, err := o.Marshal(passphrase)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(r.Path(OwnerFile), data, 0o600); err != nil {
		return fmt.Errorf("store owner key: %w", err)
	}
	return nil
}

// Token reads the API token.
func (r *Repo) Token() (string, error) {
	data, err := os.ReadFile(r.Path(TokenFile))
	if err != nil {
		return "", fmt.Errorf("read API token: %w", err)
	}
	return strings.TrimSpace(string(data)), nil
}

// WritePinsAddr records the address the Pinning Service API listens on.
func (r *Repo) WritePinsAddr(addr string) error {
	return atomicfile.Write(r.Path(PinsFile), []byte(addr+"\n"), 0o600)
}

// RemovePinsAddr forgets the Pinning Service address when the daemon stops.
func (r *Repo) RemovePinsAddr() error {
	if err := os.Remove(r.Path(PinsFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the Pinning Service address file: %w", err)
	}
	return nil
}

// WriteAPIAddr records the address the running daemon's API listens on.
func (r *Repo) WriteAPIAddr(addr string) error {
	return atomicfile.Write(r.Path(APIFile), []byte(addr+"\n"), 0o600)
}

// RemoveAPIAddr forgets the API address when the daemon stops.
func (r *Repo) RemoveAPIAddr() error {
	if err := os.Remove(r.Path(APIFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove API address file: %w", err)
	}
	return nil
}

// APIAddr returns the running daemon's API address, or ErrDaemonNotRunning.
func (r *Repo) APIAddr() (string, error) {
	data, err := os.ReadFile(r.Path(APIFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", r.notRunning()
	}
	if err != nil {
		return "", fmt.Errorf("read API address: %w", err)
	}
	return strings.TrimSpace(string(data)), nil
}

func (r *Repo) notRunning() error {
	return fmt.Errorf("%w (%s); start it with `cairn daemon --repo %s`", ErrDaemonNotRunning, r.Dir, r.Dir)
}

// NotRunning is the error for a daemon whose API address is stale.
func (r *Repo) NotRunning() error { return r.notRunning() }

// ErrNoAuthority means the repository keeps no federation authority key.
var ErrNoAuthority = errors.New("repo: this node does not hold the federation authority key")

// authorityWhat names the authority key in the errors of keys.Open.
const authorityWhat = "federation authority key"

// WriteAuthority stores the authority key text (federation.MarshalAuthority),
// sealed under the passphrase like the owner key when one is given.
func (r *Repo) WriteAuthority(text string, passphrase []byte) error {
	data := []byte(text)
	if len(passphrase) > 0 {
		var err error
		if data, err = keys.Seal(data, passphrase, authorityWhat); err != nil {
			return err
		}
	}
	if err := atomicfile.Write(r.Path(AuthorityFile), data, 0o600); err != nil {
		return fmt.Errorf("store authority key: %w", err)
	}
	return nil
}

// AuthorityProtected reports whether the stored authority key is sealed.
func (r *Repo) AuthorityProtected() bool {
	data, err := os.ReadFile(r.Path(AuthorityFile))
	return err == nil && keys.Protected(data)
}

// Authority reads the stored authority key text, opening it with the
// passphrase if it is sealed; sealed reports whether it was. A file
// written before keys were sealed (the bare text) still reads, with or
// without a passphrase. ErrNoAuthority: there is none.
func (r *Repo) Authority(passphrase []byte) (text string, sealed bool, err error) {
	data, err := os.ReadFile(r.Path(AuthorityFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", false, ErrNoAuthority
	}
	if err != nil {
		return "", false, fmt.Errorf("read authority key: %w", err)
	}
	if !keys.Protected(data) {
		return string(data), false, nil
	}
	secret, err := keys.Open(data, passphrase, authorityWhat)
	if err != nil {
		return "", true, err
	}
	return string(secret), true, nil
}

// RemoveAuthority deletes the stored authority key.
func (r *Repo) RemoveAuthority() error {
	if err := os.Remove(r.Path(AuthorityFile)); err != nil {
		return fmt.Errorf("remove authority key: %w", err)
	}
	return atomicfile.SyncDir(r.Dir)
}
