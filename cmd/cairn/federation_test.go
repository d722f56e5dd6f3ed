package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/api"
)

// fedNode is a daemon in a federation test.
type fedNode struct {
	repo string
	d    *daemonProc
	id   node.Identity
}

func startFedNode(t testing.TB, name string) *fedNode {
	t.Helper()
	n := &fedNode{repo: initRepo(t, name)}
	setConfig(t, n.repo, map[string]string{"stall_timeout": `"2s"`}) // refused fetches fail fast
	n.d = startDaemon(t, n.repo)
	cairnJSON(t, n.repo, &n.id, "id")
	return n
}

// admit admits n on the founder and joins it with the printed token.
func admit(t testing.TB, founder, n *fedNode, operator, region string) {
	t.Helper()
	var tok api.TokenAnswer
	cairnJSON(t, founder.repo, &tok, "federation", "admit", n.id.PeerID, "--operator", operator, "--region", region)
	if !strings.HasPrefix(tok.Token, "cjoin1") {
		t.Fatalf("admit printed token %q", tok.Token)
	}
	cairn(t, n.repo, "federation", "join", tok.Token)
}

func members(t testing.TB, n *fedNode) map[string]node.MemberInfo {
	t.Helper()
	var ms []node.MemberInfo
	cairnJSON(t, n.repo, &ms, "peers")
	out := map[string]node.MemberInfo{}
	for _, m := range ms {
		out[m.PeerID] = m
	}
	return out
}

// TestFederationMembership: three members of different operators see each
// other with the right operator and region; a node never admitted can
// neither connect nor fetch, even with a capability and the addresses; a
// revoked member is cut off everywhere within seconds.
func TestFederationMembership(t *testing.T) {
	a, b, c, outsider := startFedNode(t, "a"), startFedNode(t, "b"), startFedNode(t, "c"), startFedNode(t, "outsider")
	cairn(t, a.repo, "federation", "create", "riverside-backup", "--operator", "library", "--region", "eu-west")
	admit(t, a, b, "school", "eu-west")
	admit(t, a, c, "clinic", "us-east")
	cairn(t, c.repo, "connect", b.id.Addrs[0])

	want := map[string][2]string{a.id.PeerID: {"library", "eu-west"}, b.id.PeerID: {"school", "eu-west"}, c.id.PeerID: {"clinic", "us-east"}}
	for _, n := range []*fedNode{a, b, c} {
		waitFor(t, 20*time.Second, "every member to see the whole roster", func() bool { return len(members(t, n)) == 3 })
		for id, m := range members(t, n) {
			if w := want[id]; m.Operator != w[0] || m.Region != w[1] {
				t.Errorf("%s sees %s as %s/%s, want %s/%s", n.repo, id, m.Operator, m.Region, w[0], w[1])
			}
		}
	}

	src := filepath.Join(t.TempDir(), "ledger.txt")
	os.WriteFile(src, []byte("members only"), 0o600)
	var added node.AddResult
	// One replica: this test is about membership, and a copy replicated to b
	// before its revocation would stay readable on b's own disk.
	cairnJSON(t, a.repo, &added, "add", src, "--replicas", "1")

	t.Run("outsider cannot connect or fetch", func(t *testing.T) {
		for _, m := range []*fedNode{a, b, c} {
			start := time.Now()
			out, err := cairnResult(t, outsider.repo, nil, "connect", m.id.Addrs[0])
			if err == nil {
				t.Errorf("outsider connected to a member: %s", out)
			}
			t.Logf("outsider connect took %s: %s", time.Since(start), out)
		}
		start := time.Now()
		out, err := cairnResult(t, outsider.repo, nil, "get", added.Capability, "-o", filepath.Join(t.TempDir(), "stolen"))
		if err == nil {
			t.Fatalf("outsider fetched a member's object: %s", out)
		}
		t.Logf("outsider get took %s: %s", time.Since(start), out)
	})

	t.Run("member fetches", func(t *testing.T) {
		got := filepath.Join(t.TempDir(), "got.txt")
		cairn(t, c.repo, "get", added.Capability, "-o", got)
		if data, _ := os.ReadFile(got); string(data) != "members only" {
			t.Errorf("member got %q", data)
		}
	})

	t.Run("revoked member is cut off", func(t *testing.T) {
		cairn(t, a.repo, "federation", "revoke", b.id.PeerID, "--reason", "left the federation")
		for _, n := range []*fedNode{a, c} {
			waitFor(t, 10*time.Second, "the revoked member to be disconnected and dropped", func() bool {
				m := members(t, n)
				_, listed := m[b.id.PeerID]
				return !listed && len(m) == 2
			})
		}
		var peers []node.Peer
		waitFor(t, 10*time.Second, "the revoked member to have no connections", func() bool {
			cairnJSON(t, b.repo, &peers, "peers") // b still has its old roster: it lists members
			out, err := cairnResult(t, b.repo, nil, "connect", a.id.Addrs[0])
			return err != nil && out != ""
		})
		out, err := cairnResult(t, b.repo, nil, "get", added.Capability, "-o", filepath.Join(t.TempDir(), "after"))
		if err == nil {
			t.Errorf("revoked member still fetched: %s", out)
		}
	})

	t.Run("a revoked member comes back only when readmitted", func(t *testing.T) {
		out, err := cairnResult(t, a.repo, nil, "federation", "admit", b.id.PeerID, "--operator", "school", "--region", "eu-west")
		if err == nil || !strings.Contains(out, "--readmit") {
			t.Fatalf("admit of a revoked peer: %v\n%s", err, out)
		}
		var tok api.TokenAnswer
		cairnJSON(t, a.repo, &tok, "federation", "admit", b.id.PeerID, "--operator", "school", "--region", "eu-west", "--readmit")
		cairn(t, b.repo, "federation", "join", tok.Token)
		for _, n := range []*fedNode{a, b, c} {
			waitFor(t, 20*time.Second, "every member to list the readmitted one", func() bool { return len(members(t, n)) == 3 })
		}
	})
}

func TestFederationUserErrors(t *testing.T) {
	a, b := startFedNode(t, "a"), startFedNode(t, "b")
	cases := []struct {
		name string
		repo string
		args []string
		want string
	}{
		{"admit without federation", a.repo, []string{"federation", "admit", b.id.PeerID, "--operator", "x", "--region", "y"}, "no federation"},
		{"garbage token", b.repo, []string{"federation", "join", "cjoin1notatoken"}, "join token"},
		{"create without operator", a.repo, []string{"federation", "create", "x", "--region", "y"}, "operator"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := cairnResult(t, c.repo, nil, c.args...)
			if err == nil || !strings.Contains(out, c.want) {
				t.Errorf("cairn %v: err %v, output %q; want an error mentioning %q", c.args, err, out, c.want)
			}
		})
	}
	cairn(t, a.repo, "federation", "create", "f", "--operator", "o1", "--region", "r1")
	var tok api.TokenAnswer
	cairnJSON(t, a.repo, &tok, "federation", "admit", b.id.PeerID, "--operator", "o2", "--region", "r1")
	cairn(t, b.repo, "federation", "join", tok.Token)
	more := []struct {
		name string
		repo string
		args []string
		want string
	}{
		{"admit twice", a.repo, []string{"federation", "admit", b.id.PeerID, "--operator", "o2", "--region", "r1"}, "already a member"},
		{"revoke unknown", a.repo, []string{"federation", "revoke", "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"}, "not a member"},
		{"token for another peer", a.repo, []string{"federation", "join", tok.Token}, "admits"},
		{"create twice", a.repo, []string{"federation", "create", "g", "--operator", "o", "--region", "r"}, "already"},
		{"admit on a member without the key", b.repo, []string{"federation", "admit", a.id.PeerID, "--operator", "o", "--region", "r"}, "authority key"},
		{"corrupted token", b.repo, []string{"federation", "join", tok.Token[:len(tok.Token)/2] + "x" + tok.Token[len(tok.Token)/2+1:]}, "corrupted"},
		{"truncated token", b.repo, []string{"federation", "join", tok.Token[:len(tok.Token)-20]}, "truncated"},
	}
	for _, c := range more {
		t.Run(c.name, func(t *testing.T) {
			out, err := cairnResult(t, c.repo, nil, c.args...)
			if err == nil || !strings.Contains(out, c.want) {
				t.Errorf("cairn %v: err %v, output %q; want an error mentioning %q", c.args, err, out, c.want)
			}
		})
	}
}

// TestAuthorityKeyOffline moves the authority key off the founder and back:
// without it the founder cannot admit, with it again it can.
func TestAuthorityKeyOffline(t *testing.T) {
	a, b := startFedNode(t, "a"), startFedNode(t, "b")
	cairn(t, a.repo, "federation", "create", "f", "--operator", "o1", "--region", "r1")
	keyFile := filepath.Join(t.TempDir(), "authority.key")
	if out, err := cairnResult(t, a.repo, nil, "federation", "export-authority", "--remove"); err == nil || !strings.Contains(out, "-o FILE") {
		t.Errorf("--remove without -o: err %v, output %q", err, out)
	}
	cairn(t, a.repo, "federation", "export-authority", "-o", keyFile, "--remove")
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("exported key file: %v, mode %v", err, fi.Mode().Perm())
	}
	if out, err := cairnResult(t, a.repo, nil, "federation", "admit", b.id.PeerID, "--operator", "o2", "--region", "r1"); err == nil || !strings.Contains(out, "authority key") {
		t.Errorf("admit without the key: err %v, output %q", err, out)
	}
	cairn(t, a.repo, "federation", "import-authority", keyFile)
	cairn(t, a.repo, "federation", "admit", b.id.PeerID, "--operator", "o2", "--region", "r1")
}

// TestMembershipFor: a member admitted for a time shows when it ends;
// renew moves the end or removes it; a duration that is not one is
// refused with a clear error.
func TestMembershipFor(t *testing.T) {
	a, b := startFedNode(t, "a"), startFedNode(t, "b")
	cairn(t, a.repo, "federation", "create", "trial", "--operator", "library", "--region", "eu-west")
	var tok api.TokenAnswer
	cairnJSON(t, a.repo, &tok, "federation", "admit", b.id.PeerID, "--operator", "school", "--region", "eu-west", "--for", "1h")
	cairn(t, b.repo, "federation", "join", tok.Token)
	until := func() *time.Time {
		var info node.FederationInfo
		cairnJSON(t, a.repo, &info, "federation", "show")
		for _, m := range info.Members {
			if m.PeerID == b.id.PeerID {
				return m.Expires
			}
		}
		t.Fatalf("b is not listed: %+v", info.Members)
		return nil
	}
	if e := until(); e == nil || time.Until(*e) < 50*time.Minute || time.Until(*e) > time.Hour {
		t.Fatalf("admitted for 1h: member until %v", e)
	}
	cairn(t, a.repo, "federation", "renew", b.id.PeerID, "--for", "48h")
	if e := until(); e == nil || time.Until(*e) < 47*time.Hour {
		t.Fatalf("renewed for 48h: member until %v", e)
	}
	cairn(t, a.repo, "federation", "renew", b.id.PeerID)
	if e := until(); e != nil {
		t.Fatalf("renewed for good: member until %v", e)
	}
	if out, err := cairnResult(t, a.repo, nil, "federation", "renew", b.id.PeerID, "--for", "-5m"); err == nil || !strings.Contains(out, "positive duration") {
		t.Fatalf("renew for -5m: %v\n%s", err, out)
	}
	if show := cairn(t, a.repo, "federation", "show"); !strings.Contains(show, "school") {
		t.Fatalf("federation show:\n%s", show)
	}

	// A membership that ends cuts the member off when it ends; renewing it
	// brings the member back without a new admission.
	waitFor(t, 10*time.Second, "b connected", func() bool { return members(t, a)[b.id.PeerID].Connected })
	cairn(t, a.repo, "federation", "renew", b.id.PeerID, "--for", "2s")
	waitFor(t, 20*time.Second, "b cut off when its membership ends", func() bool {
		m, listed := members(t, a)[b.id.PeerID]
		return !listed || !m.Connected
	})
	cairn(t, a.repo, "federation", "renew", b.id.PeerID)
	waitFor(t, 20*time.Second, "b back after the renewal", func() bool {
		cairnResult(t, b.repo, nil, "connect", a.id.Addrs[0])
		m, listed := members(t, a)[b.id.PeerID]
		return listed && m.Connected
	})
}
