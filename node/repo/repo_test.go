package repo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInitCreatesEverything(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	r, err := Init(dir, InitOptions{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, API: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{ConfigFile, IdentityFile, OwnerFile, TokenFile} {
		fi, err := os.Stat(r.Path(name))
		if err != nil {
			t.Fatalf("%s missing: %v", name, err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	if r.Config.API.Address != "127.0.0.1:0" {
		t.Errorf("api address %q", r.Config.API.Address)
	}
	if _, err := r.Identity(); err != nil {
		t.Error(err)
	}
	if _, err := r.Owner(nil); err != nil {
		t.Error(err)
	}
}

func TestInitRefusesExisting(t *testing.T) {
	dir := t.TempDir()
	if _, err := Init(dir, InitOptions{}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, OwnerFile))
	if _, err := Init(dir, InitOptions{}); !errors.Is(err, ErrExists) {
		t.Fatalf("second init: got %v, want ErrExists", err)
	}
	// A half-made repository (config missing, key present) must not lose its key either.
	os.Remove(filepath.Join(dir, ConfigFile))
	if _, err := Init(dir, InitOptions{}); !errors.Is(err, ErrExists) {
		t.Fatalf("init over a key: got %v, want ErrExists", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, OwnerFile))
	if string(before) != string(after) {
		t.Error("owner key was overwritten")
	}
}

func TestPassphraseProtectsOwnerKey(t *testing.T) {
	r, err := Init(t.TempDir(), InitOptions{Passphrase: []byte("pw")})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OwnerProtected() {
		t.Error("owner key not reported as protected")
	}
	if _, err := r.Owner(nil); err == nil {
		t.Error("opened a protected key without a passphrase")
	}
	if _, err := r.Owner([]byte("pw")); err != nil {
		t.Error(err)
	}
}

func TestLockIsExclusive(t *testing.T) {
	r, err := Init(t.TempDir(), InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := r.Lock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lock(); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: got %v, want ErrLocked", err)
	}
	l.Close()
	l2, err := r.Lock()
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l2.Close()
}

func TestOpenMissingAndAPIAddr(t *testing.T) {
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotInitialised) {
		t.Errorf("open empty dir: got %v", err)
	}
	r, _ := Init(t.TempDir(), InitOptions{})
	if _, err := r.APIAddr(); !errors.Is(err, ErrDaemonNotRunning) {
		t.Errorf("APIAddr with no daemon: got %v", err)
	}
	if err := r.WriteAPIAddr("127.0.0.1:1234"); err != nil {
		t.Fatal(err)
	}
	if a, _ := r.APIAddr(); a != "127.0.0.1:1234" {
		t.Errorf("APIAddr = %q", a)
	}
}

func TestOpenNamesBadConfigField(t *testing.T) {
	r, _ := Init(t.TempDir(), InitOptions{})
	os.WriteFile(r.Path(ConfigFile), []byte("[add]\nreplicas = -1\n"), 0o600)
	_, err := Open(r.Dir)
	if err == nil || !strings.Contains(err.Error(), "add.replicas") {
		t.Errorf("got %v, want an error naming add.replicas", err)
	}
}

func TestFailedInitLeavesNothingBehind(t *testing.T) {
	dir := t.TempDir()
	// A directory where the blocks directory should go makes Init fail
	// after the keys are written.
	if err := os.WriteFile(filepath.Join(dir, BlocksDir), []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(dir, InitOptions{}); err == nil {
		t.Fatal("Init succeeded with its blocks directory blocked")
	}
	for _, name := range []string{IdentityFile, OwnerFile, TokenFile, ConfigFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("failed Init left %s behind", name)
		}
	}
	os.Remove(filepath.Join(dir, BlocksDir))
	if _, err := Init(dir, InitOptions{}); err != nil {
		t.Errorf("Init after clearing the obstacle: %v", err)
	}
}

// TestInitMakesAnExistingDirectoryPrivate: a directory that exists before
// init (mkdir'd by the user, mode 0755) ends up 0700 like a new one.
func TestInitMakesAnExistingDirectoryPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	r, err := Init(dir, InitOptions{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, API: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{r.Dir, r.Path(BlocksDir)} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o700 {
			t.Errorf("%s has mode %v after init, want 0700", d, got)
		}
	}
}

func TestAuthorityWithoutPassphraseIsBare(t *testing.T) {
	r, err := Init(filepath.Join(t.TempDir(), "r"), InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Authority(nil); !errors.Is(err, ErrNoAuthority) {
		t.Errorf("no authority file: %v, want ErrNoAuthority", err)
	}
	if err := r.WriteAuthority("cauth1key\n", nil); err != nil {
		t.Fatal(err)
	}
	if text, sealed, err := r.Authority(nil); err != nil || sealed || text != "cauth1key\n" {
		t.Errorf("bare authority: %q sealed %v err %v", text, sealed, err)
	}
}
