package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/node/repo"
)

// TestMetricsListener: with metrics.address set, the daemon serves
// /metrics on a listener of its own behind the metrics token, records the
// address it got, and serves nothing else there; it forgets the address
// when it stops.
func TestMetricsListener(t *testing.T) {
	dir := initRepo(t, "a")
	cairn(t, dir, "config", "set", "metrics.address", "127.0.0.1:0")
	d := startDaemon(t, dir)
	addrFile := filepath.Join(dir, repo.MetricsFile)
	data, err := os.ReadFile(addrFile)
	if err != nil {
		t.Fatalf("the daemon recorded no metrics address: %v", err)
	}
	addr := strings.TrimSpace(string(data))
	if !strings.Contains(d.output(), "Metrics on http://"+addr+"/metrics") {
		t.Errorf("the daemon did not print its metrics address %s:\n%s", addr, d.output())
	}
	token, err := os.ReadFile(filepath.Join(dir, repo.MetricsTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	_, apiToken := repoAPI(t, dir)
	if code, body := scrape(t, addr, strings.TrimSpace(string(token))); code != http.StatusOK || sample(body, "cairn_roster_version") < 0 {
		t.Fatalf("scrape with the metrics token: %d\n%s", code, body)
	}
	for _, tok := range []string{"", apiToken} {
		if code, _ := scrape(t, addr, tok); code != http.StatusUnauthorized {
			t.Errorf("scrape with token %q: %d, want 401", tok, code)
		}
	}
	resp, err := http.Get("http://" + addr + "/api/v1/id")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the API on the metrics listener: %d, want 404", resp.StatusCode)
	}
	d.stop()
	if _, err := os.Stat(addrFile); !os.IsNotExist(err) {
		t.Errorf("the metrics address file outlived the daemon: %v", err)
	}
}

// TestQuietPrintsOnlyTheObjectID: `cairn add -q` and `cairn import -q`
// print the object ID alone, as Kubo's `ipfs add -q` prints the CID.
func TestQuietPrintsOnlyTheObjectID(t *testing.T) {
	dir := initRepo(t, "a")
	startDaemon(t, dir)
	file := filepath.Join(t.TempDir(), "note.txt")
	os.WriteFile(file, []byte("quiet please"), 0o644)
	out := cairn(t, dir, "add", "-q", file)
	id := strings.TrimSpace(out)
	if strings.Count(out, "\n") != 1 || !strings.HasPrefix(id, "baf") {
		t.Fatalf("add -q printed %q, want one object ID", out)
	}
	bundle := filepath.Join(t.TempDir(), "note.car")
	cairn(t, dir, "export", id, "-o", bundle)
	if out := cairn(t, dir, "import", "--quiet", bundle); out != id+"\n" {
		t.Fatalf("import --quiet printed %q, want %q", out, id+"\n")
	}
	// The capability -q leaves out is still the owner's to list.
	waitFor(t, 10*time.Second, "the object in cairn ls", func() bool {
		return strings.Contains(cairn(t, dir, "ls", "--json"), `"capability": "cairn1`)
	})
}
