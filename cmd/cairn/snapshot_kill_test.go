package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/repo"
)

// killRounds is the number of rounds of each kill test: short enough for
// every run of the suite.
const killRounds = 10

// snapshotNode is one daemon (no federation) holding a hundred small
// objects and a few MiB in larger ones, so that a snapshot with blocks
// takes long enough to be killed in the middle, and restoring it too.
type snapshotNode struct {
	repo     string
	d        *daemonProc
	paperKey string
	listing  map[string]string // its objects, as ownedListing has them
	big      node.AddResult    // one of the larger objects
	bigData  []byte
}

func startSnapshotNode(t *testing.T) *snapshotNode {
	t.Helper()
	n := &snapshotNode{repo: initRepo(t, "node")}
	n.d = startDaemon(t, n.repo)
	var paper paperKeyAnswer
	cairnJSON(t, n.repo, &paper, "key", "export")
	n.paperKey = paper.PaperKey
	small := filepath.Join(t.TempDir(), "small")
	for i := range 100 {
		writeTree(t, small, map[string]string{fmt.Sprintf("f%03d.txt", i): fmt.Sprintf("small object %03d %s", i, strings.Repeat("x", 1000))})
	}
	cairn(t, n.repo, "add", "-q", "--each", small, "--jobs", "16")
	dir := t.TempDir()
	for i := range 4 {
		data := sampleData(t, 2<<20, fmt.Sprintf("BIG%d-", i))
		path := filepath.Join(dir, fmt.Sprintf("big%d.bin", i))
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cairnJSON(t, n.repo, &n.big, "add", path)
		n.bigData = data
	}
	n.listing = ownedListing(t, n.repo)
	if len(n.listing) != 104 {
		t.Fatalf("the node lists %d objects after adding 104", len(n.listing))
	}
	return n
}

// restore runs `cairn restore snap --repo dir --paper-key -`.
func (n *snapshotNode) restore(t *testing.T, snap, dir string) (string, error) {
	t.Helper()
	return cairnResult(t, dir, strings.NewReader(n.paperKey+"\n"), "restore", snap, "--paper-key", "-")
}

// restoreCmd is that restore as a command not yet started.
func (n *snapshotNode) restoreCmd(snap, dir string) *exec.Cmd {
	cmd := cairnCmd(context.Background(), dir, "restore", snap, "--paper-key", "-")
	cmd.Stdin = strings.NewReader(n.paperKey + "\n")
	return cmd
}

// checkRestoredNode starts a daemon on a restored repository, checks that
// it lists the node's objects and reads a larger one back from its own
// blocks, and stops it.
func (n *snapshotNode) checkRestoredNode(t *testing.T, dir string) {
	t.Helper()
	d := startDaemon(t, dir)
	defer d.stop()
	got := ownedListing(t, dir)
	if len(got) != len(n.listing) {
		t.Fatalf("the node restored in %s lists %d objects, the snapshotted node %d", dir, len(got), len(n.listing))
	}
	for id, entry := range n.listing {
		if got[id] != entry {
			t.Fatalf("the node restored in %s lists %s as %q, the snapshotted node as %q", dir, id, got[id], entry)
		}
	}
	out := filepath.Join(t.TempDir(), "big.bin")
	cairn(t, dir, "get", n.big.Capability, "-o", out)
	if data, err := os.ReadFile(out); err != nil || !bytes.Equal(data, n.bigData) {
		t.Fatalf("the node restored in %s read %s back as %d bytes (%v), want %d identical", dir, n.big.CID, len(data), err, len(n.bigData))
	}
}

// running is a started command and a channel closed once it exited.
type running struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{}
	err  error // set before done closes
}

func start(t *testing.T, cmd *exec.Cmd) *running {
	t.Helper()
	r := &running{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &r.out, &r.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", strings.Join(cmd.Args, " "), err)
	}
	go func() {
		r.err = cmd.Wait()
		close(r.done)
	}()
	return r
}

// exited reports whether the command has exited.
func (r *running) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// wait waits for the command to exit, at most a minute.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(time.Minute):
		r.cmd.Process.Kill()
		t.Fatalf("%s did not exit within a minute:\n%s", strings.Join(r.cmd.Args, " "), r.out.String())
		return nil
	}
}

// killAt waits until begun holds or r exits, then kills victim after a
// random delay below within, and waits for r. It returns whether the kill
// came before r exited on its own.
func killAt(t *testing.T, rng *rand.Rand, r *running, begun func() bool, within time.Duration, victim func()) bool {
	t.Helper()
	waitEvery(t, 2*time.Millisecond, 30*time.Second, "the command to begin writing", func() bool { return r.exited() || begun() })
	timer := time.NewTimer(time.Duration(rng.Int64N(int64(within) + 1)))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-r.done:
	}
	early := !r.exited()
	victim()
	r.wait(t)
	return early
}

// globbed reports whether pattern matches any file.
func globbed(pattern string) func() bool {
	return func() bool {
		m, _ := filepath.Glob(pattern)
		return len(m) > 0
	}
}

// timed runs f and returns how long it took.
func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// sizeOf is the size of the file at path.
func sizeOf(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

func killRng(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	return rand.New(rand.NewPCG(seed, 19))
}

// TestSnapshotKillRounds kills `cairn snapshot --blocks -o FILE` with
// SIGKILL at a random moment of its stream, in some rounds the daemon
// streaming it instead (then restarts it). After each kill FILE is
// absent or a whole snapshot that restores, no partial file is left
// beside it (the daemon's checkpoint is gone once it restarted), and a
// re-run writes FILE whole. The last one restores into a node that lists
// every object and reads one back.
func TestSnapshotKillRounds(t *testing.T) {
	n := startSnapshotNode(t)
	rng := killRng(t)
	full := filepath.Join(t.TempDir(), "full.tar")
	stream := timed(func() { cairn(t, n.repo, "snapshot", "--blocks", "-o", full) })
	t.Logf("a whole snapshot with blocks takes %s (%d bytes)", stream, sizeOf(t, full))
	var absent, whole, early, daemonKills int
	var last string
	for round := range killRounds {
		dir := t.TempDir()
		file := filepath.Join(dir, "node.tar")
		r := start(t, cairnCmd(context.Background(), n.repo, "snapshot", "--blocks", "-o", file))
		victim, what := func() { r.cmd.Process.Kill() }, "cairn snapshot"
		if round%3 == 2 {
			victim, what = n.d.kill, "the daemon"
			daemonKills++
		}
		// The temporary file appears once the stream began; most of the
		// stream's time is that of the process before it.
		if killAt(t, rng, r, globbed(filepath.Join(dir, ".node.tar.tmp-*")), stream/2, victim) {
			early++
		}
		if what == "the daemon" {
			n.d = startDaemon(t, n.repo)
			if _, err := os.Stat(filepath.Join(n.repo, "snapshot.tmp")); !os.IsNotExist(err) {
				t.Errorf("round %d: the restarted daemon keeps the killed snapshot's checkpoint: %v", round, err)
			}
		}
		_, statErr := os.Stat(file)
		if what == "the daemon" && r.err != nil && !os.IsNotExist(statErr) {
			t.Errorf("round %d: cairn snapshot failed when its daemon was killed (%v) but left %s: %v\n%s", round, r.err, file, statErr, r.out.String())
		}
		if os.IsNotExist(statErr) {
			absent++
		} else if out, err := n.restore(t, file, filepath.Join(t.TempDir(), "restored")); err != nil {
			t.Fatalf("round %d: kill of %s left %s, which does not restore: %v\n%s", round, what, file, err, out)
		} else {
			whole++
		}
		rerunSnapshot(t, n.repo, file)
		if left, _ := filepath.Glob(filepath.Join(dir, ".node.tar.tmp-*")); len(left) > 0 {
			t.Errorf("round %d: after a kill of %s and a re-run, partial snapshots are left beside %s: %v", round, what, file, left)
		}
		last = file
	}
	t.Logf("%d rounds (%d kills of the daemon, %d before the command ended): the file absent after %d, whole after %d", killRounds, daemonKills, early, absent, whole)
	restored := filepath.Join(t.TempDir(), "restored")
	if out, err := n.restore(t, last, restored); err != nil {
		t.Fatalf("restore of the last re-run's snapshot: %v\n%s", err, out)
	}
	n.d.stop() // the restored node is the same member: never both at once
	n.checkRestoredNode(t, restored)
}

// rerunSnapshot runs `cairn snapshot --blocks -o file` again. The daemon
// may still be writing the killed command's snapshot until its write to
// the closed connection fails, and writes one at a time: a re-run it
// refuses for that is tried again, for at most 30 s.
func rerunSnapshot(t *testing.T, repoDir, file string) {
	t.Helper()
	var out string
	var err error
	waitFor(t, 30*time.Second, "a re-run of cairn snapshot", func() bool {
		out, err = cairnResult(t, repoDir, nil, "snapshot", "--blocks", "-o", file)
		return err == nil || !strings.Contains(out, "being written already")
	})
	if err != nil {
		t.Fatalf("re-run of cairn snapshot -o %s: %v\n%s", file, err, out)
	}
}

// TestRestoreKillRounds kills `cairn restore` of a snapshot with blocks
// with SIGKILL at a random moment after it began building the repository
// (its hidden .NAME.restoring-* directory appeared). After each kill the
// target is absent or a whole repository; a re-run completes (and
// removes what the killed one left) or, where the killed one had
// finished, refuses the repository it made; and the daemon starts on it,
// lists every object and reads one back from its own blocks.
func TestRestoreKillRounds(t *testing.T) {
	n := startSnapshotNode(t)
	rng := killRng(t)
	snap := filepath.Join(t.TempDir(), "node.tar")
	cairn(t, n.repo, "snapshot", "--blocks", "-o", snap)
	n.d.stop() // the restored nodes are the same member: never both at once
	first := filepath.Join(t.TempDir(), "first")
	restoring := timed(func() {
		if out, err := n.restore(t, snap, first); err != nil {
			t.Fatalf("restore: %v\n%s", err, out)
		}
	})
	t.Logf("a whole restore of %d bytes takes %s", sizeOf(t, snap), restoring)
	var absent, whole int
	for round := range killRounds {
		parent := t.TempDir()
		target := filepath.Join(parent, "restored")
		r := start(t, n.restoreCmd(snap, target))
		// Up to a little past the end: some kills land after the rename.
		early := killAt(t, rng, r, globbed(filepath.Join(parent, ".restored.restoring-*")), restoring*5/4, func() { r.cmd.Process.Kill() })
		if _, err := os.Stat(target); os.IsNotExist(err) {
			absent++
			if out, err := n.restore(t, snap, target); err != nil {
				t.Fatalf("round %d: restore after a kill (before it ended: %t): %v\n%s", round, early, err, out)
			}
		} else {
			whole++
			if _, err := os.Stat(filepath.Join(target, repo.RestoredFile)); err != nil {
				t.Fatalf("round %d: a kill of restore left %s without its restored mark: %v", round, target, err)
			}
			if out, err := n.restore(t, snap, target); err == nil || !strings.Contains(out, "not empty") {
				t.Errorf("round %d: a re-run of restore into the repository it made: %v\n%s", round, err, out)
			}
		}
		if left, _ := filepath.Glob(filepath.Join(parent, ".restored.restoring-*")); len(left) > 0 {
			t.Errorf("round %d: after a kill of restore and a re-run, %v is left", round, left)
		}
		n.checkRestoredNode(t, target)
	}
	t.Logf("%d rounds: the target absent after %d, whole after %d", killRounds, absent, whole)
}
