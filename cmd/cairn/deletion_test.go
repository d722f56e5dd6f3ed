package main

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/repo"
)

// fastDeletion is fastReplication with a trash window of seconds.
func fastDeletion() map[string]string {
	s := maps.Clone(fastReplication)
	s["trash_window"] = `"4s"`
	s["retention"] = `"1h"`
	return s
}

// TestDeletionEndToEnd: an object replicated to three holders is deleted
// with cairn rm; holders stop serving it, acknowledge, and remove the
// blocks after the trash window; a holder stopped before the deletion
// deletes too when it returns and never counts the object again; undelete
// inside the window restores backed_up; only the owner may delete.
func TestDeletionEndToEnd(t *testing.T) {
	settings := fastDeletion()
	nodes := []*replNode{
		startReplNode(t, "owner", "library", "eu-west", settings),
		startReplNode(t, "school", "school", "eu-west", settings),
		startReplNode(t, "clinic", "clinic", "us-east", settings),
		startReplNode(t, "farm", "farm", "us-east", settings),
	}
	federate(t, nodes)
	owner := nodes[0]
	byPeer := map[string]*replNode{}
	for _, n := range nodes {
		byPeer[n.id.PeerID] = n
	}
	src := filepath.Join(t.TempDir(), "letters.txt")
	os.WriteFile(src, []byte(strings.Repeat("letters to be deleted\n", 50000)), 0o600)
	var added node.AddResult
	cairnJSON(t, owner.repo, &added, "add", src, "--replicas", "3")
	waitFor(t, 30*time.Second, "backed_up", backedUp(t, owner, added.CID, ""))

	holder := pickRemoteHolder(t, objectStatus(t, owner, added.CID), byPeer)
	var other *replNode // a node that never held the object
	for _, n := range nodes[1:] {
		if _, ok := findHolder(objectStatus(t, owner, added.CID), n.id.PeerID); !ok {
			other = n
		}
	}
	if other == nil {
		t.Fatal("every node holds the object; want one that does not")
	}

	refused(t, holder.repo, "only the owner", "rm", added.CID)

	t.Run("undelete inside the trash window restores backed_up", func(t *testing.T) {
		cairn(t, owner.repo, "rm", added.CID)
		waitFor(t, 10*time.Second, "deleting", func() bool { return objectStatus(t, owner, added.CID).State == netstat.StateDeleting })
		cairn(t, owner.repo, "undelete", added.CID)
		waitFor(t, 30*time.Second, "backed_up after undelete", backedUp(t, owner, added.CID, ""))
	})

	var late *replNode // a holder stopped before the deletion
	for _, h := range objectStatus(t, owner, added.CID).Holders {
		if n := byPeer[h.PeerID]; n != nil && n != owner && n != holder && h.State == "verified" {
			late = n
		}
	}
	if late == nil {
		t.Fatalf("no second remote holder in %+v", objectStatus(t, owner, added.CID).Holders)
	}
	late.d.stop()

	start := time.Now()
	out := cairn(t, owner.repo, "rm", added.CID)
	if !strings.Contains(out, "undelete") {
		t.Errorf("rm output %q does not say how to undo", out)
	}
	waitFor(t, 10*time.Second, "the online holder to acknowledge", func() bool {
		v := objectStatus(t, owner, added.CID)
		return v.DeletionView != nil && v.DeletedOn >= 2
	})
	t.Logf("cairn rm to acknowledgement by the online holders: %s", time.Since(start).Round(time.Millisecond))
	if v := objectStatus(t, owner, added.CID); v.State != netstat.StateDeleting || v.HoldersAtDeletion != 3 {
		t.Errorf("status after rm with a holder offline: state %s, holders at deletion %+v; want deleting of 3", v.State, v.DeletionView)
	}
	for _, n := range []*replNode{holder, other} {
		refused(t, n.repo, "deleted", "get", added.Capability, "-o", filepath.Join(t.TempDir(), "out"))
	}
	waitFor(t, 20*time.Second, "blocks removed on the online holder", func() bool { return countBlocks(t, filepath.Join(holder.repo, repo.BlocksDir)) == 0 })

	late.restart(t) // it finds the members again by itself: no cairn connect
	waitFor(t, 20*time.Second, "the returning holder to delete and purge", func() bool { return countBlocks(t, filepath.Join(late.repo, repo.BlocksDir)) == 0 })
	waitFor(t, 20*time.Second, "deleted everywhere", func() bool {
		v := objectStatus(t, owner, added.CID)
		return v.State == netstat.StateDeleted && v.PurgedOn == 3
	})
	for _, n := range nodes {
		if v := objectStatus(t, n, added.CID); v.State != netstat.StateDeleted && v.State != netstat.StateDeleting {
			t.Errorf("%s sees the deleted object as %s", n.repo, v.State)
		}
	}
	refused(t, owner.repo, "gone", "undelete", added.CID)
	faultRow(t, "a holder stopped before a deletion and restarted after it: deleted object served or counted again", "0", "0")
}

// refused runs a command that must fail with a message containing want.
func refused(t testing.TB, repoDir, want string, args ...string) {
	t.Helper()
	out, err := cairnResult(t, repoDir, nil, args...)
	if err == nil || !strings.Contains(out, want) {
		t.Errorf("cairn %s: %v\n%s\nwant a refusal containing %q", strings.Join(args, " "), err, out, want)
	}
}
