package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/cairn-fed/cairn/node/repo"
)

// TestConfigGetSet: `cairn config set` changes one field of config.toml,
// keeps every comment, says a restart applies it, and refuses what the
// daemon would refuse with the field named, leaving the file as it was.
func TestConfigGetSet(t *testing.T) {
	dir := initRepo(t, "a")
	path := filepath.Join(dir, repo.ConfigFile)
	if got := strings.TrimSpace(cairn(t, dir, "config", "get", "replication.repair_grace")); got != "3s" {
		t.Fatalf("config get of a default: %q, want 3s", got)
	}
	out := cairn(t, dir, "config", "set", "replication.repair_grace", "5s")
	if !strings.Contains(out, "Restart the daemon") {
		t.Errorf("config set does not say that the daemon must restart: %q", out)
	}
	if got := strings.TrimSpace(cairn(t, dir, "config", "get", "replication.repair_grace")); got != "5s" {
		t.Fatalf("config get after set: %q, want 5s", got)
	}
	var ans struct {
		Key     string `json:"key"`
		Value   any    `json:"value"`
		Restart bool   `json:"restart_needed"`
	}
	if err := json.Unmarshal([]byte(cairn(t, dir, "config", "set", "add.replicas", "2", "--json")), &ans); err != nil || ans.Value != 2.0 || !ans.Restart {
		t.Fatalf("config set --json: %+v, %v", ans, err)
	}
	before, _ := os.ReadFile(path)
	if !strings.Contains(string(before), "# Cairn node configuration.") {
		t.Error("config set lost the file's comments")
	}
	for _, bad := range [][2]string{
		{"replication.repair_grace", "soon"}, {"add.replicas", "0"}, {"api.address", "0.0.0.0:5501"},
		{"metrics.auth", "sometimes"}, {"replication.no_such_field", "1"},
	} {
		out, err := cairnResult(t, dir, nil, "config", "set", bad[0], bad[1])
		if err == nil || !strings.Contains(out, bad[0]) {
			t.Errorf("config set %s %s: %v, %q; want a failure naming the field", bad[0], bad[1], err, out)
		}
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("a refused config set changed the file")
	}
	if _, err := repo.Open(dir); err != nil {
		t.Fatalf("the daemon would not start on the edited file: %v", err)
	}
}

// TestVersion: the version comes from the build's records, the commit
// from its VCS stamp when there is one.
func TestVersion(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-12-01T09:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	got := readVersion("", bi, true)
	if got.Version != "devel" || got.Go != "go1.26.0" || got.Commit != "0123abcd" || got.CommitTime != "2026-12-01T09:00:00Z" || !got.Modified {
		t.Errorf("from a checkout: %+v", got)
	}
	bi.Main.Version = "v1.4.0"
	if got := readVersion("", bi, true); got.Version != "v1.4.0" {
		t.Errorf("module version: %q", got.Version)
	}
	if got := readVersion("v2.0.0", nil, false); got.Version != "v2.0.0" || got.Go == "" || got.Commit != "" {
		t.Errorf("set at link time, no build info: %+v", got)
	}
	var v versionInfo
	cairnJSON(t, t.TempDir(), &v, "version")
	if v.Version == "" || !strings.HasPrefix(v.Go, "go") || v.Platform == "" {
		t.Errorf("cairn version --json: %+v", v)
	}
}
