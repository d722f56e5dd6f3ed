package main

import (
	"bytes"
	"crypto/rand"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-fed/cairn/node"
)

// TestTwoDaemonsAddAndGet is the node's promise end to end: a file added on
// one daemon comes back byte for byte on another that reaches it only over
// libp2p, and its plaintext is on neither disk.
func TestTwoDaemonsAddAndGet(t *testing.T) {
	a, b := initRepo(t, "a"), initRepo(t, "b")
	startDaemon(t, a)
	startDaemon(t, b)

	var id node.Identity
	cairnJSON(t, a, &id, "id")
	if id.PeerID == "" || len(id.Addrs) == 0 {
		t.Fatalf("cairn id gave %+v", id)
	}
	cairn(t, b, "connect", id.Addrs[0])

	marker := "PLAINTEXT-MARKER-" + rand.Text()
	content := sampleData(t, 3<<20, marker)
	src := filepath.Join(t.TempDir(), "notes.bin")
	os.WriteFile(src, content, 0o600)

	var added node.AddResult
	cairnJSON(t, a, &added, "add", src)
	if added.CID == "" || added.Capability == "" || added.Size != int64(len(content)) || !added.Encrypted {
		t.Fatalf("add gave %+v", added)
	}

	out := filepath.Join(t.TempDir(), "back.bin")
	cairn(t, b, "get", added.Capability, "-o", out)
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Fatalf("got %d bytes back, want the %d added, identical", len(got), len(content))
	}
	for _, dir := range []string{a, b} {
		if path := findOnDisk(t, dir, marker); path != "" {
			t.Errorf("plaintext marker found on disk in %s", path)
		}
	}
	var listed []node.ObjectInfo
	cairnJSON(t, b, &listed, "ls")
	if len(listed) != 1 || listed[0].ID != added.CID || listed[0].Role != node.RoleHolder {
		t.Errorf("ls on the fetching node: %+v", listed)
	}
}

// TestDirectoryRoundTrip adds a directory tree and gets it back.
func TestDirectoryRoundTrip(t *testing.T) {
	a := initRepo(t, "a")
	startDaemon(t, a)
	src := filepath.Join(t.TempDir(), "photos")
	files := map[string]string{"a.txt": "alpha", "sub/b.txt": "beta", "sub/deeper/c.bin": strings.Repeat("x", 300000)}
	for name, body := range files {
		p := filepath.Join(src, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	os.MkdirAll(filepath.Join(src, "empty"), 0o755)
	var added node.AddResult
	cairnJSON(t, a, &added, "add", src)
	out := filepath.Join(t.TempDir(), "restored")
	cairn(t, a, "get", added.Capability, "-o", out)
	for name, body := range files {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(got) != body {
			t.Errorf("%s: got %d bytes, err %v", name, len(got), err)
		}
	}
	if fi, err := os.Stat(filepath.Join(out, "empty")); err != nil || !fi.IsDir() {
		t.Errorf("empty directory not restored: %v", err)
	}
}

func TestUserErrors(t *testing.T) {
	a := initRepo(t, "a")
	t.Run("no daemon", func(t *testing.T) {
		out, err := cairnResult(t, a, nil, "ls")
		if err == nil || !strings.Contains(out, "cairn daemon --repo") {
			t.Errorf("ls without a daemon: err %v, output %q; want advice to start the daemon", err, out)
		}
	})
	d := startDaemon(t, a)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"second daemon", []string{"daemon"}, "in use by another cairn daemon"},
		{"init again", []string{"init"}, "already"},
		{"missing path", []string{"add", "/no/such/file"}, "no such file"},
		{"truncated capability", []string{"get", "cairn1abc", "-o", filepath.Join(t.TempDir(), "x")}, "capability"},
		{"get without -o", []string{"get", "cairn1abc"}, "-o OUT"},
		{"connect garbage", []string{"connect", "not-a-multiaddr"}, "multiaddr"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := cairnResult(t, a, nil, c.args...)
			if err == nil || !strings.Contains(out, c.want) {
				t.Errorf("cairn %v: err %v, output %q; want an error mentioning %q", c.args, err, out, c.want)
			}
		})
	}
	t.Run("api without token", func(t *testing.T) {
		addr, _ := os.ReadFile(filepath.Join(a, "api"))
		resp, err := http.Get("http://" + strings.TrimSpace(string(addr)) + "/api/v1/ls")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", resp.StatusCode)
		}
	})
	_ = d
}

func sampleData(t testing.TB, size int, marker string) []byte {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	copy(data[size/3:], marker)
	return data
}

// findOnDisk returns a file under dir that contains needle, or "".
func findOnDisk(t testing.TB, dir, needle string) string {
	t.Helper()
	found := ""
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || found != "" || !d.Type().IsRegular() {
			return nil
		}
		if data, err := os.ReadFile(p); err == nil && bytes.Contains(data, []byte(needle)) {
			found = p
		}
		return nil
	})
	return found
}

// TestCorruptBlockIsNeverServed flips a byte of a stored block: get fails
// with a clear message and writes nothing.
func TestCorruptBlockIsNeverServed(t *testing.T) {
	a := initRepo(t, "a")
	startDaemon(t, a)
	src := filepath.Join(t.TempDir(), "doc.bin")
	os.WriteFile(src, sampleData(t, 2<<20, "CORRUPT"), 0o600)
	var added node.AddResult
	cairnJSON(t, a, &added, "add", src)
	var victim string
	filepath.WalkDir(filepath.Join(a, "blocks"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && victim == "" && strings.HasSuffix(p, ".blk") {
			if fi, _ := d.Info(); fi.Size() > 1<<17 {
				victim = p
			}
		}
		return nil
	})
	data, _ := os.ReadFile(victim)
	data[len(data)/2] ^= 0xff
	os.WriteFile(victim, data, 0o600)

	out := filepath.Join(t.TempDir(), "got")
	for _, want := range []string{"does not match its cid", "cairn federation join"} {
		msg, err := cairnResult(t, a, nil, "get", added.Capability, "-o", out)
		if err == nil || !strings.Contains(msg, want) {
			t.Errorf("get with a corrupt block: err %v, output %q; want it to mention %q", err, msg, want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Error("a failed get left output behind")
		}
	}
	faultRow(t, "a block corrupted on disk: times cairn get returned it", "0", "0")
}
