package layers

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// logic are the packages that must stay free of IO, relative to the module root.
var logic = []string{"replication", "tombstone", "netstat", "federation", "catalog", "internal/mirror"}

// forbidden may not be imported directly by a logic package.
var forbidden = []string{"net", "os", "syscall", "math/rand", "crypto/rand", "github.com/libp2p/", "github.com/ipfs/boxo"}

// forbiddenDeep may not be reached through any import at all. (os is
// reachable through crypto in the standard library, so it is checked only
// as a direct import.)
var forbiddenDeep = []string{"net", "github.com/libp2p/", "github.com/ipfs/boxo"}

func matches(path string, list []string) bool {
	for _, bad := range list {
		if path == bad || strings.HasPrefix(path, strings.TrimSuffix(bad, "/")+"/") {
			return true
		}
	}
	return false
}

func TestLogicPackagesDoNoIO(t *testing.T) {
	for _, pkg := range logic {
		files, err := filepath.Glob(filepath.Join("..", "..", pkg, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files found for %s: %v", pkg, err)
		}
		for _, name := range files {
			if !strings.HasSuffix(name, "_test.go") {
				checkFile(t, pkg, name)
			}
		}
	}
}

func checkFile(t *testing.T, pkg, name string) {
	t.Helper()
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	for _, imp := range f.Imports {
		if path, _ := strconv.Unquote(imp.Path.Value); matches(path, forbidden) {
			t.Errorf("%s imports %s; the %s logic must leave IO to node/", name, path, pkg)
		}
	}
	for _, clock := range []string{"time.Now(", "time.Since(", "time.Until("} {
		if strings.Contains(string(src), clock) {
			t.Errorf("%s calls %s; %s must take the time as an input", name, strings.TrimSuffix(clock, "("), pkg)
		}
	}
}

func TestLogicPackagesReachNoNetwork(t *testing.T) {
	for _, pkg := range logic {
		out, err := exec.Command("go", "list", "-deps", "../../"+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if matches(dep, forbiddenDeep) {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}
