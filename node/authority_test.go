package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-fed/cairn/federation"
	"github.com/cairn-fed/cairn/internal/keys"
	"github.com/cairn-fed/cairn/node/repo"
)

// startSealedNode runs a node on a repository whose keys are sealed under
// pass; edit, if not nil, may change the repository first.
func startSealedNode(t *testing.T, dir string, pass []byte, edit func(*repo.Repo)) *Node {
	t.Helper()
	r, err := repo.Open(dir)
	if errors.Is(err, repo.ErrNotInitialised) {
		r, err = repo.Init(dir, repo.InitOptions{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, API: "127.0.0.1:0", Passphrase: pass})
	}
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(r)
	}
	owner, err := r.Owner(pass)
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(r, Options{Owner: owner, Passphrase: pass, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// TestAuthorityKeyIsSealed: on a repository with a passphrase, the
// authority key that create makes is stored sealed (the file holds
// neither the key line nor the seed), opens only with the passphrase,
// and is sealed again when imported after removal.
func TestAuthorityKeyIsSealed(t *testing.T) {
	ctx := context.Background()
	pass := []byte("correct horse")
	n := startSealedNode(t, filepath.Join(t.TempDir(), "a"), pass, nil)
	if _, err := n.FederationCreate(ctx, "fed", "op", "eu"); err != nil {
		t.Fatal(err)
	}
	text := federation.MarshalAuthority(n.fed.Authority())
	checkSealed := func(when string) {
		t.Helper()
		raw, err := os.ReadFile(n.disk.repo.Path(repo.AuthorityFile))
		if err != nil {
			t.Fatal(err)
		}
		keyLine := strings.TrimSpace(text[strings.Index(text, "cauth1"):])
		if !keys.Protected(raw) || bytes.Contains(raw, []byte(keyLine)) || bytes.Contains(raw, n.fed.Authority().SigningKey().Seed()) {
			t.Fatalf("%s: the authority file is not sealed:\n%s", when, raw)
		}
		if _, _, err := n.disk.repo.Authority(nil); !errors.Is(err, keys.ErrPassphraseRequired) {
			t.Errorf("%s: read without the passphrase: %v, want ErrPassphraseRequired", when, err)
		}
		if _, _, err := n.disk.repo.Authority([]byte("wrong")); !errors.Is(err, keys.ErrWrongPassphrase) {
			t.Errorf("%s: read with a wrong passphrase: %v, want ErrWrongPassphrase", when, err)
		}
		if got, sealed, err := n.disk.repo.Authority(pass); err != nil || !sealed || got != text {
			t.Errorf("%s: read with the passphrase: sealed %v, err %v, same key %v", when, sealed, err, got == text)
		}
	}
	checkSealed("after create")
	if err := n.FederationRemoveAuthority(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(n.disk.repo.Path(repo.AuthorityFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after remove, the authority file: %v", err)
	}
	if _, err := n.FederationAdmit(ctx, n.net.host.ID().String(), "op", "eu"); !errors.Is(err, federation.ErrNoAuthority) {
		t.Errorf("admit after remove: %v, want ErrNoAuthority", err)
	}
	if err := n.FederationImportAuthority(text); err != nil {
		t.Fatal(err)
	}
	checkSealed("after import")
}

// TestUnsealedAuthorityKeyStillLoads: an authority file from before
// sealing (the bare text) loads, and is sealed once a node with a
// passphrase starts on it.
func TestUnsealedAuthorityKeyStillLoads(t *testing.T) {
	pass := []byte("correct horse")
	a, err := federation.NewAuthority(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	n := startSealedNode(t, filepath.Join(t.TempDir(), "a"), pass, func(r *repo.Repo) {
		if err := os.WriteFile(r.Path(repo.AuthorityFile), []byte(federation.MarshalAuthority(a)), 0o600); err != nil {
			t.Fatal(err)
		}
	})
	if n.fed.Authority() == nil || n.fed.Authority().FederationID() != a.FederationID() {
		t.Fatal("the unsealed authority key did not load")
	}
	if !n.disk.repo.AuthorityProtected() {
		t.Error("the unsealed authority key was not sealed on start")
	}
}
