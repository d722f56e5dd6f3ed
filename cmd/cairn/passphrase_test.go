package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIsTerminalRefusesNonTerminals: /dev/null is a character device and
// a pipe is not, but neither is a terminal to prompt on.
func TestIsTerminalRefusesNonTerminals(t *testing.T) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for name, f := range map[string]*os.File{"/dev/null": null, "a pipe": r, "a file": mustCreate(t)} {
		if isTerminal(f) {
			t.Errorf("isTerminal(%s) = true, want false", name)
		}
	}
}

func mustCreate(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "plain"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestSealedDaemonWithoutTerminalNamesTheWays: a daemon whose owner key
// is sealed, started with no terminal (stdin from /dev/null, from a pipe,
// or in a new session as service managers, nohup and setsid start it)
// and no CAIRN_PASSPHRASE, says how to give it the passphrase instead of
// failing on the terminal.
func TestSealedDaemonWithoutTerminalNamesTheWays(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sealed")
	passFile := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(passFile, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cairn(t, dir, "init", "--listen", "/ip4/127.0.0.1/tcp/0", "--api", "127.0.0.1:0", "--passphrase-file", passFile)
	for _, tc := range []struct {
		name   string
		stdin  func() io.Reader
		setsid bool
	}{
		{"stdin from /dev/null", func() io.Reader { return nil }, false}, // exec opens os.DevNull
		{"stdin from a pipe", func() io.Reader { return strings.NewReader("") }, false},
		{"new session, stdin from /dev/null", func() io.Reader { return nil }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := cairnCmd(ctx, dir, "daemon")
			cmd.Env = slices.DeleteFunc(cmd.Env, func(kv string) bool { return strings.HasPrefix(kv, "CAIRN_PASSPHRASE=") })
			cmd.Stdin = tc.stdin()
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: tc.setsid}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err == nil {
				t.Fatalf("the daemon started without a passphrase:\n%s", stderr.String())
			}
			got := stderr.String()
			for _, want := range []string{"--passphrase-file", "CAIRN_PASSPHRASE"} {
				if !strings.Contains(got, want) {
					t.Errorf("stderr does not name %s:\n%s", want, got)
				}
			}
			if strings.Contains(got, "ioctl") || strings.Contains(got, "Passphrase:") {
				t.Errorf("stderr prompts on, or fails on, a terminal there is not:\n%s", got)
			}
		})
	}
}
