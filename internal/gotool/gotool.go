// Package gotool owns building the real third-party programs that tests
// run against (Kubo, versitygw): a Go command at a pinned version, built
// once per machine into the user's cache, in a throwaway module (the
// module proxy refuses `go install` of a pinned version, as
// ../shared/DEPS.md says). It is for tests only.
package gotool

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Tool is a Go command to build.
type Tool struct {
	Name    string // what tests call it, for messages: "Kubo"
	Package string // its main package: "github.com/ipfs/kubo/cmd/ipfs"
	Version string
	// EnvBinary names a variable that may hold a binary to use instead.
	EnvBinary string
	// Why says what the tests need it for, for the skip message.
	Why     string
	Timeout time.Duration // for the build; 0: 20 minutes
}

// Binary returns the path of the tool's binary, building it the first
// time. Concurrent test processes wait for one build. Outside CI a failed
// build skips the test, saying why; in CI (CI=true) it fails it.
func (tool Tool) Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(tool.EnvBinary); p != "" {
		return p
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	name := path.Base(tool.Package)
	dir := filepath.Join(cache, "cairn-test", name+"-"+tool.Version)
	bin := filepath.Join(dir, name)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(bin); err == nil {
		return bin // another process built it while this one waited
	}
	if err := tool.build(dir, bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("build %s %s for %s: %v", tool.Name, tool.Version, tool.Why, err)
		}
		t.Skipf("%s need real %s %s, which could not be built here (set %s to a binary of it): %v", tool.Why, tool.Name, tool.Version, tool.EnvBinary, err)
	}
	return bin
}

func (tool Tool) build(dir, bin string) error {
	mod, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(mod)
	timeout := tool.Timeout
	if timeout == 0 {
		timeout = 20 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	steps := [][]string{
		{"go", "mod", "init", "cairn-test-tool"},
		{"go", "get", tool.Package + "@" + tool.Version},
		{"go", "build", "-o", bin + ".tmp", tool.Package},
	}
	for _, s := range steps {
		cmd := exec.CommandContext(ctx, s[0], s[1:]...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(s, " "), err, out)
		}
	}
	return os.Rename(bin+".tmp", bin)
}
