package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/internal/kubotest"
	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/api"
)

// TestKuboReadsCairnBundles: a public object exported by Cairn imports
// into real Kubo, which pins it and reads every file with `ipfs cat` and
// `ipfs ls`, as UnixFS.
func TestKuboReadsCairnBundles(t *testing.T) {
	kubo := kubotest.NewRepo(t)
	a := initRepo(t, "a")
	startDaemon(t, a)
	src := filepath.Join(t.TempDir(), "site")
	files := map[string]string{"index.html": "<h1>open day</h1>", "img/big.bin": strings.Repeat("pixels ", 500000)}
	writeTree(t, src, files)
	var added node.AddResult
	cairnJSON(t, a, &added, "add", "--unencrypted", src)
	bundle := filepath.Join(t.TempDir(), "site.car")
	cairn(t, a, "export", added.IPFS, "-o", bundle)

	out := kubo.Run("dag", "import", "--pin-roots", bundle)
	if !strings.Contains(out, added.IPFS) || !strings.Contains(out, "success") {
		t.Fatalf("ipfs dag import did not pin %s:\n%s", added.IPFS, out)
	}
	for name, body := range files {
		if got := kubo.Run("cat", added.IPFS+"/"+name); got != body {
			t.Fatalf("ipfs cat %s gives %d bytes, want %d", name, len(got), len(body))
		}
	}
	ls := kubo.Run("ls", added.IPFS)
	if !strings.Contains(ls, "index.html") || !strings.Contains(ls, "img/") {
		t.Fatalf("ipfs ls:\n%s", ls)
	}
	// The same files added by Kubo with the profile Cairn follows give
	// the same CID: one DAG, whoever made it.
	kuboCID := strings.TrimSpace(kubo.Run("add", "-r", "-Q", "--cid-version=1", "--raw-leaves", "--chunker=size-1048576", "--max-file-links=1024", src))
	if kuboCID != added.IPFS {
		t.Fatalf("Kubo's CID for the same files is %s, Cairn's %s", kuboCID, added.IPFS)
	}
}

// TestCairnImportsKuboBundles: a directory added to real Kubo with its
// defaults (CIDv0, dag-pb leaves) and `ipfs dag export`ed imports into a
// member of a federation of four operators, reaches backed_up there, and
// reads back byte for byte on another member; Cairn's export of it is the
// same DAG Kubo wrote.
func TestCairnImportsKuboBundles(t *testing.T) {
	kubo := kubotest.NewRepo(t)
	nodes := ownersFederation(t, fastReplication)
	owner := nodes[0]
	src := filepath.Join(t.TempDir(), "archive")
	files := map[string]string{"minutes.txt": "we met", "scans/2019.bin": strings.Repeat("scan ", 400000)}
	writeTree(t, src, files)
	root := strings.TrimSpace(kubo.Run("add", "-r", "-Q", src))
	bundle := filepath.Join(t.TempDir(), "archive.car")
	f, err := os.Create(bundle)
	if err != nil {
		t.Fatal(err)
	}
	cmd := kubo.Command(t.Context(), "dag", "export", root)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = f, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ipfs dag export: %v\n%s", err, stderr.String())
	}
	f.Close()

	var imported node.ImportResult
	cairnJSON(t, owner.repo, &imported, "import", bundle, "--replicas", "3")
	if imported.DAG != root || imported.Encrypted {
		t.Fatalf("import: %+v, want the public DAG %s", imported, root)
	}
	waitFor(t, 60*time.Second, "the imported DAG backed_up on 3 operators", backedUp(t, owner, imported.CID, ""))

	out := filepath.Join(t.TempDir(), "out")
	cairn(t, nodes[2].repo, "get", imported.Capability, "-o", out)
	for name, body := range files {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(got) != body {
			t.Fatalf("%s read back on another member: %d bytes, %v", name, len(got), err)
		}
	}
	again := filepath.Join(t.TempDir(), "again.car")
	cairn(t, owner.repo, "export", root, "-o", again)
	kuboRoots, kuboBlocks := readCAR(t, bundle)
	cairnRoots, cairnBlocks := readCAR(t, again)
	if kuboRoots[0] != cairnRoots[0] || len(kuboBlocks) != len(cairnBlocks) {
		t.Fatalf("Cairn's export (%v, %d blocks) is not Kubo's (%v, %d blocks)", cairnRoots, len(cairnBlocks), kuboRoots, len(kuboBlocks))
	}
}

// TestPinFromKubo: `cairn pin CID --origin` fetches a DAG from a running
// Kubo over /ipfs/bitswap into a federation of four operators, where it
// reaches backed_up; a CID the origin lacks, an origin nobody listens on
// and a malformed origin are clear errors that keep nothing.
func TestPinFromKubo(t *testing.T) {
	kubo := kubotest.NewRepo(t)
	kubo.Start()
	settings := map[string]string{"stall_timeout": `"2s"`}
	for k, v := range fastReplication {
		settings[k] = v
	}
	nodes := ownersFederation(t, settings)
	owner := nodes[0]
	src := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(src, []byte(strings.Repeat("annual report ", 200000)), 0o644); err != nil {
		t.Fatal(err)
	}
	root := strings.TrimSpace(kubo.Run("add", "-Q", src))

	var pinned node.ImportResult
	cairnJSON(t, owner.repo, &pinned, "pin", root, "--origin", kubo.Swarm, "--replicas", "3", "--name", "report")
	if pinned.DAG != root || pinned.New == 0 {
		t.Fatalf("pin: %+v", pinned)
	}
	waitFor(t, 60*time.Second, "the pinned DAG backed_up on 3 operators", backedUp(t, owner, pinned.CID, ""))
	out := filepath.Join(t.TempDir(), "report.pdf")
	cairn(t, nodes[3].repo, "get", pinned.Capability, "-o", out)
	if got, _ := os.ReadFile(out); string(got) != strings.Repeat("annual report ", 200000) {
		t.Fatalf("the pinned file reads back as %d bytes", len(got))
	}

	before := countBlockFiles(t, nodes[1].repo)
	absent := "bafkreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"a CID the origin lacks": {[]string{absent, "--origin", kubo.Swarm}, "no peer sent a block"},
		"an origin that is down": {[]string{absent, "--origin", "/ip4/127.0.0.1/tcp/9/p2p/" + strings.TrimSpace(kubo.Run("id", "--format=<id>"))}, "no origin provided"},
		"a malformed origin":     {[]string{root, "--origin", "kubo.example:4001"}, "not an origin"},
		"a CID that is no CID":   {[]string{"Qmnope", "--origin", kubo.Swarm}, "not a valid CID"},
		"a dag-cbor DAG":         {[]string{"bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", "--origin", kubo.Swarm}, "dag-cbor"},
	} {
		out, err := cairnResult(t, nodes[1].repo, nil, append([]string{"pin"}, c.args...)...)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("%s: %v, want an error saying %q\n%s", name, err, c.want, out)
		}
	}
	if after := countBlockFiles(t, nodes[1].repo); after != before {
		t.Fatalf("failed pins left %d blocks behind", after-before)
	}
}

// TestPinningServiceWithKubo is the Pinning Service API end to end with
// real Kubo: `ipfs pin remote service add` with a token, `ipfs pin remote
// add` of a CID only Kubo holds reaches "pinned" (backed_up on three
// operators), `ipfs pin remote ls --status=pinned` lists it, and `ipfs pin
// remote rm` deletes it on every holder. Another user's token sees none
// of it; a token that was never made is refused.
func TestPinningServiceWithKubo(t *testing.T) {
	kubo := kubotest.NewRepo(t)
	kubo.Start()
	service := startPinningService(t)

	var alice, bob api.PinsToken
	cairnJSON(t, service.repo, &alice, "pins", "token", "create", "--name", "alice")
	cairnJSON(t, service.repo, &bob, "pins", "token", "create", "--name", "bob")
	kubo.Run("pin", "remote", "service", "add", "cairn", service.id.PinsAPI, alice.Token)
	kubo.Run("pin", "remote", "service", "add", "cairn-bob", service.id.PinsAPI, bob.Token)
	kubo.Run("pin", "remote", "service", "add", "cairn-nobody", service.id.PinsAPI, "cairn-pins-"+strings.Repeat("0", 64))

	src := filepath.Join(t.TempDir(), "minutes.txt")
	body := strings.Repeat("the board met and agreed ", 100000)
	if err := os.WriteFile(src, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	root := strings.TrimSpace(kubo.Run("add", "-Q", src))
	pinRemote(t, kubo, service, alice.Token, "--service=cairn", "--name=minutes", root)

	ls := kubo.Run("pin", "remote", "ls", "--service=cairn", "--status=pinned")
	if !strings.Contains(ls, root) || !strings.Contains(ls, "minutes") {
		t.Fatalf("ipfs pin remote ls --status=pinned:\n%s", ls)
	}
	if ls := kubo.Run("pin", "remote", "ls", "--service=cairn-bob", "--status=queued,pinning,pinned,failed"); strings.Contains(ls, root) {
		t.Fatalf("bob sees alice's pin:\n%s", ls)
	}
	if out, err := kubo.Try("pin", "remote", "ls", "--service=cairn-nobody"); err == nil || !strings.Contains(out, "401") && !strings.Contains(strings.ToLower(out), "unauthorized") {
		t.Fatalf("a token never made: %v\n%s", err, out)
	}
	var listed []node.ObjectInfo
	cairnJSON(t, service.repo, &listed, "ls")
	var object string
	for _, o := range listed {
		if o.DAG == root {
			object = o.ID
		}
	}
	if object == "" {
		t.Fatalf("the pinned DAG is not among the owner's objects: %+v", listed)
	}
	if v := objectStatus(t, service, object); v.State != netstat.StateBackedUp || v.Copies != 3 {
		t.Fatalf("pinned, but the object is %s with %d copies", v.State, v.Copies)
	}

	kubo.Run("pin", "remote", "rm", "--service=cairn", "--cid="+root)
	waitFor(t, 30*time.Second, "every holder to acknowledge the deletion", func() bool {
		v := objectStatus(t, service, object)
		return v.DeletionView != nil && v.DeletedOn >= 3
	})
	if ls := kubo.Run("pin", "remote", "ls", "--service=cairn", "--status=queued,pinning,pinned,failed"); strings.Contains(ls, root) {
		t.Fatalf("removed pin still listed:\n%s", ls)
	}
	// Pinned again after its removal, the DAG is a new object: the deleted
	// one stays deleted.
	pinRemote(t, kubo, service, alice.Token, "--service=cairn", "--name=minutes-again", root)
	cairnJSON(t, service.repo, &listed, "ls")
	again := ""
	for _, o := range listed {
		if o.DAG == root && o.ID != object {
			again = o.ID
		}
	}
	if again == "" {
		t.Fatalf("pinned again, but no new object holds the DAG: %+v", listed)
	}
	if v := objectStatus(t, service, object); v.DeletionView == nil {
		t.Fatalf("the deleted object is %s again", v.State)
	}
}

// startPinningService starts a federation of four members, one of them
// (the first operator, "school") serving the Pinning Service API, and
// returns that one.
func startPinningService(t *testing.T) *replNode {
	t.Helper()
	service := &replNode{fedNode: &fedNode{repo: filepath.Join(t.TempDir(), "service")}, operator: "school", region: "eu-west"}
	cairn(t, service.repo, "init", "--listen", "/ip4/127.0.0.1/tcp/0", "--api", "127.0.0.1:0", "--pins-api", "127.0.0.1:0")
	setConfig(t, service.repo, fastReplication)
	service.d = startDaemon(t, service.repo)
	cairnJSON(t, service.repo, &service.id, "id")
	if !strings.HasPrefix(service.id.PinsAPI, "http://127.0.0.1:") {
		t.Fatalf("cairn id reports pins_api %q", service.id.PinsAPI)
	}
	federate(t, []*replNode{
		service,
		startReplNode(t, "library", "library", "eu-west", fastReplication),
		startReplNode(t, "clinic", "clinic", "us-east", fastReplication),
		startReplNode(t, "farm", "farm", "us-east", fastReplication),
	})
	return service
}

// TestPinningServiceReachesKuboBehindANAT: a Kubo whose announced address
// cannot be dialled, as behind a NAT, sends that address as the pin's
// origin; the service cannot reach it, waits, and fetches from the Kubo
// once it dials the delegate the service answered with. The pin reaches
// "pinned".
func TestPinningServiceReachesKuboBehindANAT(t *testing.T) {
	kubo := kubotest.NewRepo(t)
	kubo.Run("config", "--json", "Addresses.Announce", `["/ip4/127.0.0.1/tcp/9"]`) // discard: nothing listens
	kubo.Start()
	service := startPinningService(t)
	var alice api.PinsToken
	cairnJSON(t, service.repo, &alice, "pins", "token", "create", "--name", "alice")
	kubo.Run("pin", "remote", "service", "add", "cairn", service.id.PinsAPI, alice.Token)

	src := filepath.Join(t.TempDir(), "minutes.txt")
	if err := os.WriteFile(src, []byte(strings.Repeat("minutes from behind a NAT ", 20000)), 0o644); err != nil {
		t.Fatal(err)
	}
	root := strings.TrimSpace(kubo.Run("add", "-Q", src))
	pinRemote(t, kubo, service, alice.Token, "--service=cairn", "--name=nat", root)
	var listed []node.ObjectInfo
	cairnJSON(t, service.repo, &listed, "ls")
	if !slices.ContainsFunc(listed, func(o node.ObjectInfo) bool { return o.DAG == root }) {
		t.Fatalf("pinned, but the DAG is not among the owner's objects: %+v", listed)
	}
}

// pinRemote runs `ipfs pin remote add` with args. When it fails, the test
// fails with what the service says of its failed requests: Kubo prints
// only their IDs.
func pinRemote(t *testing.T, kubo *kubotest.Repo, service *replNode, token string, args ...string) {
	t.Helper()
	out, err := kubo.Try(append([]string{"pin", "remote", "add"}, args...)...)
	if err == nil {
		return
	}
	req, reqErr := http.NewRequest(http.MethodGet, service.id.PinsAPI+"/pins?status=failed", nil)
	if reqErr != nil {
		t.Fatal(reqErr)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	failed := "(not read)"
	if resp, getErr := (&http.Client{Timeout: 10 * time.Second}).Do(req); getErr == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		failed = string(body)
	}
	t.Fatalf("ipfs pin remote add %s: %v\n%s\nthe service's failed requests: %s", strings.Join(args, " "), err, out, failed)
}
