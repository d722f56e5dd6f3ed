// Package kubotest owns the real Kubo (the reference IPFS implementation)
// that interoperability tests run against: it builds a pinned version once
// per machine into the user's cache, and starts repositories and daemons
// that listen on loopback only and never reach the public network. It is
// for tests only.
package kubotest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/internal/gotool"
)

// Version is the Kubo release the tests run.
const Version = "v0.42.0"

// EnvBinary names a Kubo binary to use instead of building one.
const EnvBinary = "CAIRN_KUBO"

// tool is Kubo as the tests build it (about a minute and a half on two
// cores).
var tool = gotool.Tool{Name: "Kubo", Package: "github.com/ipfs/kubo/cmd/ipfs", Version: Version,
	EnvBinary: EnvBinary, Why: "the interoperability tests", Timeout: 15 * time.Minute}

// Binary returns the path of the Kubo binary, building it the first time
// (package gotool).
func Binary(t testing.TB) string {
	t.Helper()
	return tool.Binary(t)
}

// Repo is a Kubo repository, configured for loopback only: no bootstrap
// peers, no routing, swarm, API and gateway on ephemeral loopback ports.
type Repo struct {
	t    testing.TB
	bin  string
	Path string // IPFS_PATH
	// API is the daemon's RPC address (host:port) once Start returned.
	API string
	// Swarm is the daemon's libp2p address with its peer ID, once Start
	// returned.
	Swarm string
	cmd   *exec.Cmd
}

// NewRepo initialises a repository in a temporary directory.
func NewRepo(t testing.TB) *Repo {
	t.Helper()
	r := &Repo{t: t, bin: Binary(t), Path: filepath.Join(t.TempDir(), "kubo")}
	r.Run("init", "--profile=test", "--empty-repo")
	r.Run("config", "--json", "Bootstrap", "[]")
	r.Run("config", "Routing.Type", "none")
	r.Run("config", "--json", "Addresses.Swarm", `["/ip4/127.0.0.1/tcp/0"]`)
	r.Run("config", "Addresses.API", "/ip4/127.0.0.1/tcp/0")
	r.Run("config", "Addresses.Gateway", "/ip4/127.0.0.1/tcp/0")
	r.Run("config", "--json", "Discovery.MDNS.Enabled", "false")
	return r
}

// Command returns an ipfs command on this repository.
func (r *Repo) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, r.bin, args...)
	cmd.Env = append(os.Environ(), "IPFS_PATH="+r.Path)
	return cmd
}

// Run runs ipfs with args and returns its standard output, failing the
// test on error.
func (r *Repo) Run(args ...string) string {
	r.t.Helper()
	out, err := r.Try(args...)
	if err != nil {
		r.t.Fatalf("ipfs %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// Try runs ipfs with args and returns standard output and, on failure,
// standard error with the error.
func (r *Repo) Try(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := r.Command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// Start runs the daemon until the test ends and waits until it answers.
func (r *Repo) Start() {
	r.t.Helper()
	r.cmd = r.Command(context.Background(), "daemon", "--offline=false")
	var out bytes.Buffer
	r.cmd.Stdout, r.cmd.Stderr = &out, &out
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = r.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = r.cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for ; ; <-tick.C {
		// The api file appears once the daemon serves; `ipfs id` without
		// it reads the repository offline and lists no address.
		if apiFile, err := os.ReadFile(filepath.Join(r.Path, "api")); err == nil {
			var info struct{ Addresses []string }
			if out, err := r.Try("id"); err == nil && json.Unmarshal([]byte(out), &info) == nil {
				for _, a := range info.Addresses {
					if strings.HasPrefix(a, "/ip4/127.0.0.1/tcp/") {
						r.Swarm = a
					}
				}
			}
			if r.Swarm != "" {
				r.API = multiaddrHostPort(strings.TrimSpace(string(apiFile)))
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("Kubo daemon not ready after 60s:\n%s", out.String())
		}
	}
}

// multiaddrHostPort turns /ip4/H/tcp/P into H:P.
func multiaddrHostPort(ma string) string {
	parts := strings.Split(ma, "/")
	if len(parts) >= 5 {
		return parts[2] + ":" + parts[4]
	}
	return ma
}
