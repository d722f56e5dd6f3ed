// Package s3test owns the real S3 server that mirror tests run against:
// it builds a pinned versitygw (an S3 gateway over a directory) once per
// machine into the user's cache, and starts it on loopback with a
// temporary data directory, a bucket and random credentials; a test can
// stop it and start it again on the same address and data. It is for
// tests only.
package s3test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/internal/gotool"
)

// Version is the versitygw release the tests run.
const Version = "v1.0.14"

// EnvBinary names a versitygw binary to use instead of building one.
const EnvBinary = "CAIRN_VERSITYGW"

// Bucket is the bucket every server starts with.
const Bucket = "mirror"

// tool is versitygw as the tests build it (a few minutes on two cores).
var tool = gotool.Tool{Name: "versitygw", Package: "github.com/versity/versitygw/cmd/versitygw", Version: Version,
	EnvBinary: EnvBinary, Why: "the tests against a real S3 server"}

// Binary returns the path of the versitygw binary, building it the first
// time (package gotool).
func Binary(t testing.TB) string {
	t.Helper()
	return tool.Binary(t)
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
