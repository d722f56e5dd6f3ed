package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/blockstore"
)

// TestKillDuringAdd kills the daemon in the middle of a large add, several
// times, and checks after each crash that every stored block matches its
// CID and that the interrupted object is either complete or absent.
func TestKillDuringAdd(t *testing.T) {
	a := initRepo(t, "a")
	content := sampleData(t, 96<<20, "KILL-MARKER")
	src := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(src, content, 0o600); err != nil {
		t.Fatal(err)
	}
	interrupted := 0
	// Kill at different points: after the first blocks, halfway, near the end.
	for round, killAfter := range []int{4, 60, 150} {
		d := startDaemon(t, a)
		add := cairnCmd(context.Background(), a, "add", "--new", src, "--json")
		var addOut bytes.Buffer
		add.Stdout, add.Stderr = &addOut, &addOut
		if err := add.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, time.Minute, "blocks to be written", func() bool {
			return countBlocks(t, filepath.Join(a, "blocks")) >= killAfter || addFinished(add)
		})
		d.kill()
		acknowledged := add.Wait() == nil
		if !acknowledged {
			interrupted++
		}
		checkStoreConsistent(t, filepath.Join(a, "blocks"))
		listed := checkListedObjectsComplete(t, a, content, round)
		if acknowledged && listed == 0 {
			t.Errorf("round %d: the add was acknowledged but its object is not listed after the crash", round)
		}
	}
	if interrupted == 0 {
		t.Error("no round interrupted an add; the test proved nothing about crashes")
	}
	faultRow(t, fmt.Sprintf("kill -9 of the daemon during a 96 MiB add, %d rounds (%d interrupted): acknowledged objects lost, corrupt blocks kept", 3, interrupted), "0, 0", "0, 0")
}

// faultRow prints one row of the fault table (scripts/faults collects
// them) unless the test failed, in which case the failure says more.
func faultRow(t *testing.T, scenario, got, goal string) {
	if !t.Failed() {
		fmt.Printf("| %s | %s | goal %s |\n", scenario, got, goal)
	}
}

// addFinished reports whether the add process has exited.
func addFinished(cmd *exec.Cmd) bool { return cmd.ProcessState != nil }

func countBlocks(t testing.TB, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".blk") {
			n++
		}
		return nil
	})
	return n
}

// checkStoreConsistent reads every block of a stopped node's store: none
// may fail verification.
func checkStoreConsistent(t testing.TB, dir string) {
	t.Helper()
	bs, err := blockstore.Open(dir, blockstore.DefaultConfig(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	keys, err := bs.AllKeysChan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for c := range keys {
		if _, err := bs.Get(ctx, c); err != nil {
			t.Errorf("block %s after a crash: %v", c, err)
		}
		checked++
	}
	t.Logf("checked %d blocks after the crash", checked)
}

// checkListedObjectsComplete restarts the daemon and gets every listed
// object back: a listed object must be complete and identical. It returns
// how many objects are listed.
func checkListedObjectsComplete(t testing.TB, repoDir string, want []byte, round int) int {
	t.Helper()
	d := startDaemon(t, repoDir)
	defer d.stop()
	var objs []node.ObjectInfo
	cairnJSON(t, repoDir, &objs, "ls")
	t.Logf("round %d: %d object(s) listed after the crash", round, len(objs))
	for i, o := range objs {
		out := filepath.Join(t.TempDir(), "got")
		cairn(t, repoDir, "get", o.Capability, "-o", out)
		got, _ := os.ReadFile(out)
		if !bytes.Equal(got, want) {
			t.Errorf("listed object %d (%s) came back with %d bytes, want the %d added", i, o.ID, len(got), len(want))
		}
	}
	return len(objs)
}

// TestDiskFullDuringAdd fills a small filesystem with an add: the add fails
// with a clear message, nothing half-added is listed, and the node keeps
// serving what it had. It needs root to mount a tmpfs.
func TestDiskFullDuringAdd(t *testing.T) {
	mnt := smallFilesystem(t, 48)
	a := filepath.Join(mnt, "repo")
	cairn(t, a, "init", "--listen", "/ip4/127.0.0.1/tcp/0", "--api", "127.0.0.1:0")
	startDaemon(t, a)

	small := filepath.Join(t.TempDir(), "small.txt")
	os.WriteFile(small, []byte("kept safe"), 0o600)
	var kept node.AddResult
	cairnJSON(t, a, &kept, "add", small)

	big := filepath.Join(t.TempDir(), "big.bin")
	os.WriteFile(big, sampleData(t, 96<<20, "BIG"), 0o600)
	out, err := cairnResult(t, a, nil, "add", big)
	if err == nil || !strings.Contains(out, "disk") {
		t.Fatalf("add onto a full disk: err %v, output %q; want a clear disk-space error", err, out)
	}
	var objs []node.ObjectInfo
	cairnJSON(t, a, &objs, "ls")
	if len(objs) != 1 || objs[0].ID != kept.CID {
		t.Errorf("after the failed add, ls lists %+v; want only %s", objs, kept.CID)
	}
	got := filepath.Join(t.TempDir(), "kept.txt")
	cairn(t, a, "get", kept.Capability, "-o", got)
	if data, _ := os.ReadFile(got); string(data) != "kept safe" {
		t.Errorf("kept object came back as %q", data)
	}
	faultRow(t, "an add onto a full disk: clear error, earlier object still served intact, failed add listed", "yes, yes, no", "yes, yes, no")
}

// smallFilesystem mounts a tmpfs of sizeMiB for the test.
func smallFilesystem(t testing.TB, sizeMiB int) string {
	t.Helper()
	dir := t.TempDir()
	err := errors.New("not root")
	if os.Geteuid() == 0 {
		err = exec.Command("mount", "-t", "tmpfs", "-o", "size="+itoa(sizeMiB)+"m", "tmpfs", dir).Run()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mounting a small tmpfs to fill the disk needs root: %v", err)
		}
		t.Skipf("skipping: mounting a small tmpfs to fill the disk needs root (%v); CI runs it as root", err)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

func itoa(n int) string { return strconv.Itoa(n) }
