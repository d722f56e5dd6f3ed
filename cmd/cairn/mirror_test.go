package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/internal/mirror"
	"github.com/cairn-fed/cairn/internal/s3test"
	"github.com/cairn-fed/cairn/node"
)

// mirrorProc is a running `cairn mirror`.
type mirrorProc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer // guarded by mu
	puts int          // guarded by mu; "put" lines seen
	done chan struct{}
	err  error // set before done closes
}

// startMirror starts `cairn mirror` with args and the extra environment.
func startMirror(t *testing.T, repo string, env []string, args ...string) *mirrorProc {
	t.Helper()
	m := &mirrorProc{done: make(chan struct{})}
	m.cmd = cairnCmd(context.Background(), repo, append([]string{"mirror"}, args...)...)
	m.cmd.Env = append(m.cmd.Env, env...)
	stdout, err := m.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	m.cmd.Stderr = lockedBuffer{m}
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			m.mu.Lock()
			m.out.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), `"action":"put"`) || strings.HasPrefix(sc.Text(), "put ") {
				m.puts++
			}
			m.mu.Unlock()
		}
		m.err = m.cmd.Wait()
		close(m.done)
	}()
	t.Cleanup(func() { m.kill() })
	return m
}

type lockedBuffer struct{ m *mirrorProc }

func (b lockedBuffer) Write(p []byte) (int, error) {
	b.m.mu.Lock()
	defer b.m.mu.Unlock()
	return b.m.out.Write(p)
}

func (m *mirrorProc) output() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.out.String()
}

func (m *mirrorProc) putsSeen() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.puts
}

func (m *mirrorProc) exited() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// kill stops the mirror with SIGKILL, as a crash would.
func (m *mirrorProc) kill() {
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.done
}

// stop interrupts the mirror and waits for it to exit cleanly.
func (m *mirrorProc) stop(t *testing.T) {
	t.Helper()
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("mirror did not stop within 30s of SIGTERM:\n%s", m.output())
	}
	if m.err != nil {
		t.Fatalf("mirror exited with %v:\n%s", m.err, m.output())
	}
}

// mirrorAdd adds one file with body and returns the result.
func mirrorAdd(t *testing.T, repo, name, body string) node.AddResult {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	var res node.AddResult
	cairnJSON(t, repo, &res, "add", p)
	return res
}

// objectKeys lists the objects in a mirror directory (not the state, not
// hidden temporary files).
func objectKeys(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			keys = append(keys, e.Name())
		}
	}
	slices.Sort(keys)
	return keys
}

// untarOne returns the name and contents of the one file in a tar.
func untarOne(t *testing.T, b []byte) (string, string) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	var name, body string
	files := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read the mirrored tar: %v", err)
		}
		if h.Typeflag == tar.TypeReg {
			c, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			name, body = h.Name, string(c)
			files++
		}
	}
	if files != 1 {
		t.Fatalf("the mirrored tar holds %d files, want 1", files)
	}
	return name, body
}

func keysOf(res ...node.AddResult) []string {
	var keys []string
	for _, r := range res {
		keys = append(keys, mirror.Key(r.CID, mirror.FormatDecrypted))
	}
	slices.Sort(keys)
	return keys
}

// TestMirrorFollowsIntoS3 is the done-when: a mirror following a
// real daemon into a real S3 server copies adds and removes deletions,
// across a kill -9 of the mirror and a restart of the S3 server, and ends
// with every object present exactly once and byte-identical after
// decryption.
func TestMirrorFollowsIntoS3(t *testing.T) {
	srv := s3test.Start(t)
	a := initRepo(t, "a")
	startDaemon(t, a)
	bodies := map[string]string{}
	add := func(name string, size int) node.AddResult {
		body := strings.Repeat(name+" ", size/(len(name)+1))
		r := mirrorAdd(t, a, name, body)
		bodies[r.CID] = body
		return r
	}
	one, two, three := add("one.txt", 300<<10), add("two.txt", 7<<20), add("three.txt", 10)
	prefix := filepath.Join(srv.Data, s3test.Bucket, "laptop")
	args := []string{"--to", "s3://" + s3test.Bucket + "/laptop", "--decrypt", "--follow", "--on-delete", "delete", "--json"}
	m := startMirror(t, a, srv.Env(), args...)
	waitFor(t, time.Minute, "the first three objects in S3", func() bool {
		return slices.Equal(objectKeys(t, prefix), keysOf(one, two, three)) || m.exited()
	})
	m.kill()

	four := add("four.txt", 2<<20)
	cairn(t, a, "rm", two.CID)
	srv.Stop()
	m = startMirror(t, a, srv.Env(), args...)
	waitFor(t, time.Minute, "the mirror to fail against the stopped server and retry", func() bool {
		return strings.Contains(m.output(), `"action":"retry"`) || m.exited()
	})
	srv.Restart()
	waitFor(t, 2*time.Minute, "the fourth object in S3 and the deleted one gone", func() bool {
		return slices.Equal(objectKeys(t, prefix), keysOf(one, three, four)) || m.exited()
	})
	five := add("five.txt", 1000)
	waitFor(t, time.Minute, "an object added while the mirror follows", func() bool {
		return slices.Equal(objectKeys(t, prefix), keysOf(one, three, four, five)) || m.exited()
	})
	m.stop(t)

	for _, r := range []node.AddResult{one, three, four, five} {
		b, ok := srv.Object("laptop/" + mirror.Key(r.CID, mirror.FormatDecrypted))
		if !ok {
			t.Fatalf("%s missing from S3", r.CID)
		}
		if name, body := untarOne(t, b); body != bodies[r.CID] || name != r.Name {
			t.Fatalf("%s: the mirrored file %q (%d bytes) differs from what was added (%q, %d bytes)", r.CID, name, len(body), r.Name, len(bodies[r.CID]))
		}
	}
	st, ok := srv.Object("laptop/" + mirror.StateKey)
	if !ok {
		t.Fatal("no mirror state in S3")
	}
	state, err := mirror.Decode(st, nodeID(t, a), mirror.FormatDecrypted)
	if err != nil || len(state.Objects) != 4 || state.Cursor == "" {
		t.Fatalf("mirror state: %v, %d objects, cursor %q", err, len(state.Objects), state.Cursor)
	}
}

func nodeID(t *testing.T, repo string) string {
	t.Helper()
	var id node.Identity
	cairnJSON(t, repo, &id, "id")
	return id.PeerID
}

// TestMirrorKill9Rounds kills the mirror with SIGKILL in the middle of a
// run, ten times, with new objects each round: the directory holds only
// whole objects (each byte-identical to `cairn export`), and a run to the
// end puts every object there once.
func TestMirrorKill9Rounds(t *testing.T) {
	a := initRepo(t, "a")
	startDaemon(t, a)
	dir := filepath.Join(t.TempDir(), "mirror")
	exports := filepath.Join(t.TempDir(), "exports")
	if err := os.Mkdir(exports, 0o755); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{} // key -> the bundle cairn export writes
	check := func(round int) {
		for _, k := range objectKeys(t, dir) {
			got, _ := os.ReadFile(filepath.Join(dir, k))
			if w, ok := want[k]; !ok || !bytes.Equal(got, w) {
				t.Fatalf("round %d: %s in the mirror is not a whole object (%d bytes, want %d)", round, k, len(got), len(w))
			}
		}
	}
	for round := range 10 {
		for i := range 2 {
			name := fmt.Sprintf("r%d-%d.bin", round, i)
			r := mirrorAdd(t, a, name, strings.Repeat(name, (1<<20)/len(name)))
			out := filepath.Join(exports, r.CID+".car")
			cairn(t, a, "export", r.CID, "-o", out)
			want[mirror.Key(r.CID, mirror.FormatCAR)], _ = os.ReadFile(out)
		}
		m := startMirror(t, a, nil, "--to", dir, "--json")
		waitFor(t, time.Minute, "the mirror's first put", func() bool { return m.putsSeen() > 0 || m.exited() })
		m.kill()
		check(round)
	}
	m := startMirror(t, a, nil, "--to", dir)
	<-m.done
	if m.err != nil {
		t.Fatalf("the run after the kills failed: %v\n%s", m.err, m.output())
	}
	check(10)
	wantKeys := slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	})
	if got := objectKeys(t, dir); !slices.Equal(got, wantKeys) {
		t.Fatalf("mirror holds %v, want %v", got, wantKeys)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != len(wantKeys)+1 {
		t.Fatalf("the mirror directory holds %d entries, want %d objects and the state", len(entries), len(wantKeys))
	}
}

// TestMirrorRefusals: a mirror state from another node is refused,
// naming both nodes, so is a directory of the user's files without a
// mirror state, and bad flags are clear errors; none writes anything.
func TestMirrorRefusals(t *testing.T) {
	a, b := initRepo(t, "a"), initRepo(t, "b")
	startDaemon(t, a)
	startDaemon(t, b)
	mirrorAdd(t, a, "x.txt", "x")
	dir := filepath.Join(t.TempDir(), "mirror")
	cairn(t, a, "mirror", "--to", dir, "--on-delete", "after=30d")
	before := objectKeys(t, dir)
	out, err := cairnResult(t, b, nil, "mirror", "--to", dir)
	if err == nil || !strings.Contains(out, nodeID(t, a)) || !strings.Contains(out, nodeID(t, b)) {
		t.Fatalf("mirror of node b into node a's mirror: %v\n%s", err, out)
	}
	if !slices.Equal(objectKeys(t, dir), before) {
		t.Fatal("a refused mirror changed the target")
	}
	mine := t.TempDir()
	if err := os.WriteFile(filepath.Join(mine, "holiday-photos.car"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = cairnResult(t, a, nil, "mirror", "--to", mine, "--on-delete", "delete")
	if err == nil || !strings.Contains(out, "--adopt") {
		t.Fatalf("mirror into a directory of the user's files: %v\n%s", err, out)
	}
	if entries, _ := os.ReadDir(mine); len(entries) != 1 {
		t.Fatalf("a mirror refused in a directory of the user's left %d entries there", len(entries))
	}
	for _, args := range [][]string{
		{"mirror"}, {"mirror", "--to", dir, "--on-delete", "drop"}, {"mirror", "--to", "ftp://x/y"},
		{"mirror", "--to", "s3://"}, {"mirror", "--to", dir, "--decrypt"},
	} {
		if out, err := cairnResult(t, a, nil, args...); err == nil {
			t.Errorf("cairn %s succeeded:\n%s", strings.Join(args, " "), out)
		}
	}
}
