// Package s3test owns the real S3 server that mirror tests run against:
// it builds a pinned versitygw (an S3 gateway over a directory) once per
// machine into the user's cache, and starts it on loopback with a
// temporary data directory, a bucket and random credentials; a test can
// stop it and start it again on the same address and data. It is for
// tests only.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Version is the versitygw release the tests run.
const Version = "v1.0.14"

// EnvBinary names a versitygw binary to use instead of building one.
const EnvBinary = "CAIRN_VERSITYGW"

// Bucket is the bucket every server starts with.
const Bucket = "mirror"

// Binary returns the path of the versitygw binary, building it the first
// time (a few minutes on two cores, in a throwaway module: the module
// proxy refuses `go install` of a pinned version, as ../shared/DEPS.md
// says). Concurrent test processes wait for one build. Outside CI a
// failed build skips the test, saying why; in CI it fails it.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvBinary); p != "" {
		return p
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "cairn-test", "versitygw-"+Version)
	bin := filepath.Join(dir, "versitygw")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(bin); err == nil {
		return bin // another process built it while this one waited
	}
	if err := build(dir, bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("build versitygw %s for the S3 tests: %v", Version, err)
		}
		t.Skipf("these tests run against a real S3 server, versitygw %s, which could not be built here (set %s to a versitygw binary): %v", Version, EnvBinary, err)
	}
	return bin
}

func build(dir, bin string) error {
	mod, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(mod)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	steps := [][]string{
		{"go", "mod", "init", "vgw-tool"},
		{"go", "get", "github.com/versity/versitygw/cmd/versitygw@" + Version},
		{"go", "build", "-o", bin + ".tmp", "github.com/versity/versitygw/cmd/versitygw"},
	}
	for _, s := range steps {
		cmd := exec.CommandContext(ctx, s[0], s[1:]...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(s, " "), err, out)
		}
	}
	return os.Rename(bin+".tmp", bin)
}

// Server is a versitygw serving a temporary directory on loopback.
type Server struct {
	t   testing.TB
	bin string
	// Addr is host:port; Endpoint is http://Addr.
	Addr, Endpoint string
	// AccessKey and SecretKey are the root credentials, random per server.
	AccessKey, SecretKey string
	// Region is the region the server answers for.
	Region string
	// Data is the top directory: Data/Bucket/KEY holds object KEY.
	Data string
	// meta holds object metadata beside Data (a sidecar directory: no
	// extended attributes needed from the file system).
	meta string

	mu   sync.Mutex
	cmd  *exec.Cmd // guarded by mu; nil when stopped
	done chan struct{}
	log  *bytes.Buffer // guarded by mu
}

// Start starts a server until the test ends, with Bucket created.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		t: t, bin: Binary(t), Region: "us-east-1",
		AccessKey: "cairn" + randomHex(t, 8), SecretKey: randomHex(t, 20),
		Data: t.TempDir(), meta: t.TempDir(),
	}
	if err := os.Mkdir(filepath.Join(s.Data, Bucket), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	l.Close()
	s.Endpoint = "http://" + s.Addr
	t.Cleanup(s.Stop)
	s.Restart()
	return s
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// Restart starts the server again on the same address and data after
// Stop, and waits until it accepts connections.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	s.log = &bytes.Buffer{}
	cmd := exec.Command(s.bin, "--port", s.Addr, "--region", s.Region, "--quiet", "posix", "--sidecar", s.meta, s.Data)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.AccessKey, "ROOT_SECRET_KEY="+s.SecretKey)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start versitygw: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			s.t.Fatalf("versitygw exited before it listened on %s:\n%s", s.Addr, s.log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("versitygw not listening on %s after 30s:\n%s", s.Addr, s.log)
		}
	}
}

// Stop stops the server (SIGKILL: as abrupt as a crash) and waits for it.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Env is the environment an S3 client reads the server from, the way the
// AWS SDKs do.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_S3=" + s.Endpoint, "AWS_REGION=" + s.Region,
		"AWS_ACCESS_KEY_ID=" + s.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
	}
}

// Object returns the bytes of the object at key in Bucket, read from the
// server's data directory, and false when it is not there.
func (s *Server) Object(key string) ([]byte, bool) {
	b, err := os.ReadFile(filepath.Join(s.Data, Bucket, filepath.FromSlash(key)))
	return b, err == nil
}
