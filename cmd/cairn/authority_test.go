package main

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-fed/cairn/federation"
	"github.com/cairn-fed/cairn/internal/keys"
	"github.com/cairn-fed/cairn/node/repo"
)

// TestExportAuthorityNeedsThePassphrase: export-authority reads a sealed
// authority key only with the repository's passphrase; without one, or
// with a wrong one, it fails saying why.
func TestExportAuthorityNeedsThePassphrase(t *testing.T) {
	t.Setenv("CAIRN_PASSPHRASE", "")
	dir := t.TempDir()
	r, err := repo.Init(filepath.Join(dir, "r"), repo.InitOptions{Passphrase: []byte("right")})
	if err != nil {
		t.Fatal(err)
	}
	a, err := federation.NewAuthority(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	text := federation.MarshalAuthority(a)
	if err := r.WriteAuthority(text, []byte("right")); err != nil {
		t.Fatal(err)
	}
	passFile := func(pass string) string {
		p := filepath.Join(dir, pass)
		if err := os.WriteFile(p, []byte(pass+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stdin := os.Stdin
	os.Stdin = nil // not a terminal: no prompt
	defer func() { os.Stdin = stdin }()
	if _, err := readAuthority(r, ""); err == nil || !strings.Contains(err.Error(), "passphrase is needed") {
		t.Errorf("no passphrase: %v, want an error asking for it", err)
	}
	if _, err := readAuthority(r, passFile("wrong")); !errors.Is(err, keys.ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: %v, want ErrWrongPassphrase", err)
	}
	if got, err := readAuthority(r, passFile("right")); err != nil || got != text {
		t.Errorf("right passphrase: err %v, same key %v", err, got == text)
	}
}
