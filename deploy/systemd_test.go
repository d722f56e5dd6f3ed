package deploy

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// unit reads a systemd unit file into section -> key -> values, keeping
// every value of a repeated key, skipping comments.
func unit(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			out[section] = map[string][]string{}
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: %q is neither a section, a comment nor KEY=VALUE in a section", path, n, line)
			}
			out[section][key] = append(out[section][key], value)
		}
	}
	return out
}

// TestSystemdUnit checks that deploy/cairn.service runs the daemon as its
// own user on /var/lib/cairn with the hardening it promises and a way to
// hand it the passphrase, and that systemd itself finds nothing wrong.
func TestSystemdUnit(t *testing.T) {
	u := unit(t, "cairn.service")
	want := map[string]map[string]string{
		"Unit":    {"Description": "", "After": "network-online.target"},
		"Install": {"WantedBy": "multi-user.target"},
		"Service": {
			"User": "cairn", "Group": "cairn", "StateDirectory": "cairn", "Restart": "on-failure",
			"LimitNOFILE": "", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
			"ReadWritePaths": "/var/lib/cairn", "PrivateTmp": "yes", "ProtectHome": "yes", "UMask": "0077",
		},
	}
	for section, keys := range want {
		for key, value := range keys {
			got := u[section][key]
			if len(got) == 0 || (value != "" && got[len(got)-1] != value) {
				t.Errorf("[%s] %s = %q, want %q", section, key, got, value)
			}
		}
	}
	exec0 := strings.Join(u["Service"]["ExecStart"], " ")
	for _, part := range []string{"cairn daemon", "--repo /var/lib/cairn", "--passphrase-file %d/passphrase"} {
		if !strings.Contains(exec0, part) {
			t.Errorf("ExecStart %q has no %q", exec0, part)
		}
	}
	text, _ := os.ReadFile("cairn.service")
	if !strings.Contains(string(text), "LoadCredential=passphrase:") {
		t.Error("the unit does not show how to load the passphrase as a credential")
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Logf("systemd-analyze is not installed: only the keys above were checked")
		return
	}
	// verify wants the executable to exist.
	path := filepath.Join(t.TempDir(), "cairn.service")
	os.WriteFile(path, bytes.ReplaceAll(text, []byte("/usr/local/bin/cairn"), []byte("/bin/true")), 0o644)
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
