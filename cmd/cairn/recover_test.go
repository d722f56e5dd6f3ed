package main

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
)

// recoverySettings replicate and challenge fast, write the catalog twice a
// second, and keep deleted objects in the trash for the whole test.
func recoverySettings() map[string]string {
	s := maps.Clone(fastReplication)
	s["catalog.interval"] = `"500ms"`
	s["trash_window"] = `"1h"`
	return s
}

// ownedListing is `cairn ls` of the objects a node's owner added: name
// and capability by object ID.
func ownedListing(t testing.TB, repoDir string) map[string]string {
	t.Helper()
	var objs []node.ObjectInfo
	cairnJSON(t, repoDir, &objs, "ls")
	out := map[string]string{}
	for _, o := range objs {
		if o.Role == node.RoleOwner {
			out[o.ID] = o.Name + " " + o.Capability
		}
	}
	return out
}

// catalogSettled waits until the owner's catalog holds every change and
// its latest version is backed up, and returns the catalog.
func catalogSettled(t testing.TB, owner *replNode, after uint64) node.CatalogInfo {
	t.Helper()
	var info node.CatalogInfo
	waitFor(t, 30*time.Second, "the catalog to take in every change", func() bool {
		cairnJSON(t, owner.repo, &info, "catalog")
		return info.Version > after && !info.Pending
	})
	if !eventually(30*time.Second, backedUp(t, owner, info.Object, "")) {
		v := objectStatus(t, owner, info.Object)
		t.Fatalf("catalog version %d is not backed up: %s, %d copies, holders %+v", info.Version, v.State, v.Copies, v.Holders)
	}
	return info
}

// writeTree writes files (path: contents) under dir.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// ownersFederation starts four daemons of four operators in two regions,
// federated: the school founds it (and keeps the authority key), the
// library is the owner whose machine a test destroys.
func ownersFederation(t testing.TB, settings map[string]string) []*replNode {
	t.Helper()
	nodes := []*replNode{
		startReplNode(t, "school", "school", "eu-west", settings),
		startReplNode(t, "library", "library", "eu-west", settings),
		startReplNode(t, "clinic", "clinic", "us-east", settings),
		startReplNode(t, "farm", "farm", "us-east", settings),
	}
	federate(t, nodes)
	return nodes
}

// TestRecoverAfterLosingTheMachine is the owner's worst day with real
// daemons: the owner adds files and a directory tree, deletes one, and
// its machine is destroyed (SIGKILL, repository removed). A fresh node,
// admitted to the federation, recovers with the paper key: the listing is
// as it was (names, capabilities), every object restores byte for byte,
// and rm and undelete work. Another fresh node recovers from 2 of 3
// shares at a time before the deletion and the last add.
func TestRecoverAfterLosingTheMachine(t *testing.T) {
	settings := recoverySettings()
	nodes := ownersFederation(t, settings)
	founder, owner := nodes[0], nodes[1]

	dir := t.TempDir()
	writeTree(t, filepath.Join(dir, "letters"), map[string]string{"a.txt": "dear school", "sub/b.txt": strings.Repeat("beta ", 40000)})
	writeTree(t, dir, map[string]string{"notes.txt": "remember the milk", "old.txt": "to be deleted", "late.txt": "added last"})
	add := func(path string, flags ...string) node.AddResult {
		var added node.AddResult
		cairnJSON(t, owner.repo, &added, append([]string{"add", filepath.Join(dir, path), "--replicas", "3"}, flags...)...)
		waitFor(t, 30*time.Second, path+" backed_up", backedUp(t, owner, added.CID, ""))
		return added
	}
	letters, notes, old := add("letters"), add("notes.txt", "--unencrypted"), add("old.txt")
	first := catalogSettled(t, owner, 0)
	beforeDeletion := time.Now()
	cairn(t, owner.repo, "rm", old.CID)
	late := add("late.txt")
	catalogSettled(t, owner, first.Version)
	before := ownedListing(t, owner.repo)
	if len(before) != 4 {
		t.Fatalf("the owner lists %d objects before the loss, want 4: %v", len(before), before)
	}

	var paper struct {
		PaperKey string `json:"paper_key"`
	}
	cairnJSON(t, owner.repo, &paper, "key", "export")
	var split struct {
		Shares []string `json:"shares"`
	}
	cairnJSON(t, owner.repo, &split, "key", "split", "--shares", "3", "--threshold", "2")

	owner.d.kill()
	if err := os.RemoveAll(owner.repo); err != nil {
		t.Fatal(err)
	}

	fresh := func(name string) *replNode {
		n := startReplNode(t, name, "library", "eu-west", settings)
		admit(t, founder.fedNode, n.fedNode, n.operator, n.region)
		return n
	}
	home := fresh("new-home")
	out, err := cairnResult(t, home.repo, strings.NewReader("not a key\n"), "recover", "--paper-key", "-")
	if err == nil || !strings.Contains(out, "paper key") {
		t.Errorf("recover with a garbled paper key: %v\n%s", err, out)
	}
	out, err = cairnResult(t, home.repo, strings.NewReader(paper.PaperKey+"\n"), "recover", "--paper-key", "-")
	if err != nil {
		t.Fatalf("recover: %v\n%s", err, out)
	}
	t.Logf("cairn recover:\n%s", out)
	if after := ownedListing(t, home.repo); !maps.Equal(after, before) {
		t.Fatalf("listing after recovery differs:\nbefore %v\nafter  %v", before, after)
	}
	var listed []node.ObjectInfo
	cairnJSON(t, home.repo, &listed, "ls")
	for _, o := range listed {
		if o.ID == notes.CID && o.DAG != notes.IPFS {
			t.Errorf("the public object recovered without its IPFS CID: %q, want %q", o.DAG, notes.IPFS)
		}
	}
	restored := t.TempDir()
	cairn(t, home.repo, "get", letters.Capability, "-o", filepath.Join(restored, "letters"))
	cairn(t, home.repo, "get", notes.Capability, "-o", filepath.Join(restored, "notes.txt"))
	cairn(t, home.repo, "get", late.Capability, "-o", filepath.Join(restored, "late.txt"))
	for _, name := range []string{"letters/a.txt", "letters/sub/b.txt", "notes.txt", "late.txt"} {
		want, _ := os.ReadFile(filepath.Join(dir, name))
		got, err := os.ReadFile(filepath.Join(restored, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s restored as %d bytes (%v), want %d identical", name, len(got), err, len(want))
		}
	}

	t.Run("shares and a time before the deletion", func(t *testing.T) {
		again := fresh("another-home")
		shares := filepath.Join(t.TempDir(), "shares")
		os.WriteFile(filepath.Join(shares+"1"), []byte(split.Shares[0]), 0o600)
		os.WriteFile(filepath.Join(shares+"3"), []byte(split.Shares[2]), 0o600)
		out, err := cairnResult(t, again.repo, nil, "recover", "--share", shares+"1", "--at", beforeDeletion.Format(time.RFC3339Nano))
		if err == nil || !strings.Contains(out, "share") {
			t.Errorf("recover with one share of two: %v\n%s", err, out)
		}
		var report node.RecoverReport
		cairnJSON(t, again.repo, &report, "recover", "--share", shares+"1", "--share", shares+"3", "--at", beforeDeletion.Format(time.RFC3339Nano))
		listed := ownedListing(t, again.repo)
		for _, o := range []node.AddResult{letters, notes, old} {
			if listed[o.CID] != before[o.CID] {
				t.Errorf("%s at the earlier time: %q, want %q", o.CID, listed[o.CID], before[o.CID])
			}
		}
		if _, ok := listed[late.CID]; ok {
			t.Errorf("the object added after the time asked is listed: %v", listed)
		}
	})

	// The recovered node is the owner's: the deleted object comes back,
	// and a live one can be deleted.
	cairn(t, home.repo, "undelete", old.CID)
	if !eventually(30*time.Second, func() bool {
		v := objectStatus(t, home, old.CID)
		return v.State == netstat.StateBackedUp && v.Copies >= 3 // both recovered nodes are the owner's operator
	}) {
		v := objectStatus(t, home, old.CID)
		t.Fatalf("the undeleted object is not backed up: %+v\n%s", v, home.d.output())
	}
	cairn(t, home.repo, "get", old.Capability, "-o", filepath.Join(restored, "old.txt"))
	cairn(t, home.repo, "rm", notes.CID)
	waitFor(t, 10*time.Second, "the deletion to reach the holders", func() bool {
		return objectStatus(t, home, notes.CID).State == netstat.StateDeleting
	})
}
