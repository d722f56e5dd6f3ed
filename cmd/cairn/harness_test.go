package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the cairn binary: with this variable set it
// runs main instead of the tests, so end-to-end tests start real cairn
// processes without a separate build step.
const runAsCairn = "CAIRN_TEST_RUN_AS_CAIRN"

func TestMain(m *testing.M) {
	if os.Getenv(runAsCairn) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// cairnCmd builds a cairn command line against a repository.
func cairnCmd(ctx context.Context, repoDir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"--repo", repoDir}, args...)...)
	cmd.Env = append(os.Environ(), runAsCairn+"=1")
	return cmd
}

// cairn runs a command to completion and returns stdout; it fails the test
// on a non-zero exit.
func cairn(t testing.TB, repoDir string, args ...string) string {
	t.Helper()
	out, err := cairnResult(t, repoDir, nil, args...)
	if err != nil {
		t.Fatalf("cairn %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// cairnResult runs a command and returns its combined output and error.
func cairnResult(t testing.TB, repoDir string, stdin io.Reader, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := cairnCmd(ctx, repoDir, args...)
	cmd.Stdin = stdin
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	if took := time.Since(start); took > 10*time.Second {
		t.Logf("slow command (%s): cairn %s: %v\n%s", took.Round(time.Millisecond), strings.Join(args, " "), err, out.String())
	}
	return out.String(), err
}

// cairnJSON runs a command with --json and decodes its output into v.
func cairnJSON(t testing.TB, repoDir string, v any, args ...string) {
	t.Helper()
	out := cairn(t, repoDir, append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("cairn %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// daemon is a running cairn daemon process.
type daemonProc struct {
	t    testing.TB
	repo string
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  bytes.Buffer // guarded by mu
	done chan struct{}
}

// initRepo creates a repository listening on loopback with free ports.
func initRepo(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	cairn(t, dir, "init", "--listen", "/ip4/127.0.0.1/tcp/0", "--api", "127.0.0.1:0")
	return dir
}

// startDaemon starts a daemon and waits until it says it is ready.
func startDaemon(t testing.TB, repoDir string) *daemonProc {
	t.Helper()
	d := &daemonProc{t: t, repo: repoDir, done: make(chan struct{})}
	d.cmd = cairnCmd(context.Background(), repoDir, "daemon")
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stderr = d.writer()
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go d.follow(stdout, ready)
	t.Cleanup(d.stop)
	select {
	case <-ready:
	case <-d.done:
		t.Fatalf("daemon exited before it was ready:\n%s", d.output())
	case <-time.After(60 * time.Second):
		t.Fatalf("daemon not ready after 60s:\n%s", d.output())
	}
	return d
}

func (d *daemonProc) follow(stdout io.Reader, ready chan struct{}) {
	sc := bufio.NewScanner(stdout)
	signalled := false
	for sc.Scan() {
		fmt.Fprintln(d.writer(), sc.Text())
		if !signalled && strings.Contains(sc.Text(), "Daemon is ready.") {
			close(ready)
			signalled = true
		}
	}
	d.cmd.Wait()
	close(d.done)
}

type lockedWriter struct{ d *daemonProc }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.d.mu.Lock()
	defer w.d.mu.Unlock()
	return w.d.log.Write(p)
}

func (d *daemonProc) writer() io.Writer { return lockedWriter{d} }

func (d *daemonProc) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// kill stops the daemon with SIGKILL, as a crash would.
func (d *daemonProc) kill() {
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

// failedLogLines is how much of each daemon's log a failed test shows.
const failedLogLines = 40

// stop asks the daemon to shut down and waits for it. When the test has
// failed, it first shows the end of the daemon's log: a failure seen only
// in CI must be diagnosable from what CI printed.
func (d *daemonProc) stop() {
	if d.t.Failed() {
		d.t.Logf("the last lines of the daemon of %s:\n%s", d.repo, lastLines(d.output(), failedLogLines))
	}
	select {
	case <-d.done:
		return
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(20 * time.Second):
		d.t.Errorf("daemon did not stop within 20s of SIGTERM:\n%s", d.output())
		d.kill()
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	waitEvery(t, 20*time.Millisecond, timeout, what, cond)
}

// waitEvery is waitFor polling every period.
func waitEvery(t testing.TB, period, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	poll := time.NewTicker(period)
	defer poll.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		case <-poll.C:
		}
	}
}
