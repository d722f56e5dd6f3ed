package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/cairn-fed/cairn/internal/keys"
	"github.com/cairn-fed/cairn/internal/paperkey"
	"github.com/cairn-fed/cairn/node/repo"
)

// runCairn runs a cairn command in this process, as offline commands can
// be, and returns what it wrote to stdout and stderr.
func runCairn(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCommand()
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	err = root.Execute()
	return out.String(), errOut.String(), err
}

// keyRepo creates a repository, sealed when pass is not empty, and returns
// its directory and owner key.
func keyRepo(t *testing.T, pass string) (string, *keys.Owner) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	r, err := repo.Init(dir, repo.InitOptions{Passphrase: []byte(pass)})
	if err != nil {
		t.Fatal(err)
	}
	owner, err := r.Owner([]byte(pass))
	if err != nil {
		t.Fatal(err)
	}
	return dir, owner
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKeyExportSplitCombine: export prints the repository's key as a paper
// key (alone on stdout, what it is on stderr); any K of split's shares,
// from stdin or files, combine to that same paper key.
func TestKeyExportSplitCombine(t *testing.T) {
	dir, owner := keyRepo(t, "")
	out, info, err := runCairn(t, "", "--repo", dir, "key", "export")
	if err != nil {
		t.Fatal(err)
	}
	paper := strings.TrimSpace(out)
	if secret, err := paperkey.Decode(paper); err != nil || secret != owner.Secret() {
		t.Fatalf("export printed %q: %v, or not the owner's secret", out, err)
	}
	if !strings.Contains(info, owner.Fingerprint()) || !strings.Contains(info, "delete your objects") {
		t.Errorf("export says neither the fingerprint nor what the key can do:\n%s", info)
	}
	out, info, err = runCairn(t, "", "--repo", dir, "key", "split", "--shares", "5", "--threshold", "3")
	if err != nil {
		t.Fatal(err)
	}
	shares := strings.Fields(out)
	if len(shares) != 5 || !strings.Contains(info, "any 3 of them") || !strings.Contains(info, "different trusted person") {
		t.Fatalf("split printed %d shares; want 5, and what to do with them:\n%s", len(shares), info)
	}
	combined, _, err := runCairn(t, shares[4]+"\n"+shares[0]+"\n"+shares[2]+"\n", "key", "combine")
	if err != nil || strings.TrimSpace(combined) != paper {
		t.Errorf("combine of shares 5, 1, 3 from stdin: %v; %q, want %q", err, combined, paper)
	}
	two := writeFile(t, "two", strings.ReplaceAll(shares[1]+" "+shares[3], "-", " "))
	one := writeFile(t, "one", strings.ToUpper(shares[0]))
	combined, _, err = runCairn(t, "", "key", "combine", two, one)
	if err != nil || strings.TrimSpace(combined) != paper {
		t.Errorf("combine from two files: %v; %q, want %q", err, combined, paper)
	}
}

// TestKeyExportSealed: a sealed owner key is exported with the passphrase
// from CAIRN_PASSPHRASE or --passphrase-file, and not without it.
func TestKeyExportSealed(t *testing.T) {
	dir, owner := keyRepo(t, "right")
	want := paperkey.Encode(owner.Secret())
	t.Setenv("CAIRN_PASSPHRASE", "right")
	if out, _, err := runCairn(t, "", "--repo", dir, "key", "export"); err != nil || strings.TrimSpace(out) != want {
		t.Errorf("CAIRN_PASSPHRASE: %v; %q, want %q", err, out, want)
	}
	t.Setenv("CAIRN_PASSPHRASE", "wrong")
	if _, _, err := runCairn(t, "", "--repo", dir, "key", "split", "--shares", "2", "--threshold", "2"); !errors.Is(err, keys.ErrWrongPassphrase) {
		t.Errorf("split with the wrong passphrase: %v, want ErrWrongPassphrase", err)
	}
	t.Setenv("CAIRN_PASSPHRASE", "")
	pass := writeFile(t, "pass", "right\n")
	if out, _, err := runCairn(t, "", "--repo", dir, "key", "export", "--passphrase-file", pass); err != nil || strings.TrimSpace(out) != want {
		t.Errorf("--passphrase-file: %v; %q, want %q", err, out, want)
	}
	stdin := os.Stdin
	os.Stdin = nil // not a terminal: no prompt
	defer func() { os.Stdin = stdin }()
	if _, _, err := runCairn(t, "", "--repo", dir, "key", "export"); err == nil || !strings.Contains(err.Error(), "passphrase is needed") {
		t.Errorf("no passphrase: %v, want an error asking for it", err)
	}
}

// TestKeyCombineErrors: a mistyped share, too few shares, shares of two
// splits and a bad split are refused, saying what is wrong.
func TestKeyCombineErrors(t *testing.T) {
	dir, _ := keyRepo(t, "")
	split := func() []string {
		out, _, err := runCairn(t, "", "--repo", dir, "key", "split", "--shares", "3", "--threshold", "2")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(out)
	}
	a, b := split(), split()
	typo := []byte(a[1])
	typo[len(typo)-3] = mistype(typo[len(typo)-3])
	for _, c := range []struct {
		name, stdin, says string
	}{
		{"a typo", a[0] + "\n" + string(typo), "share 2: paperkey: checksum does not match"},
		{"too few", a[2], "1 share given; this split needs 2"},
		{"two splits", a[0] + "\n" + b[1], "shares 1 and 2 come from different splits"},
		{"the same twice", a[0] + "\n" + a[0], "shares 1 and 2 are the same share"},
		{"nothing", "\n", "no shares given"},
	} {
		if _, _, err := runCairn(t, c.stdin, "key", "combine", "-"); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.says)
		}
	}
	if _, _, err := runCairn(t, "", "--repo", dir, "key", "split", "--shares", "3", "--threshold", "1"); err == nil || !strings.Contains(err.Error(), "at least 2") {
		t.Errorf("threshold 1: %v, want an error naming the limit", err)
	}
}

// TestKeyJSON: --json prints one object of the documented shape, and
// nothing on stderr.
func TestKeyJSON(t *testing.T) {
	dir, owner := keyRepo(t, "")
	decode := func(stdin string, args ...string) map[string]any {
		t.Helper()
		out, info, err := runCairn(t, stdin, append([]string{"--repo", dir, "--json"}, args...)...)
		var v map[string]any
		if err == nil {
			err = json.Unmarshal([]byte(out), &v)
		}
		if err != nil || info != "" {
			t.Fatalf("%v --json: %v, stderr %q\n%s", args, err, info, out)
		}
		return v
	}
	keysOf := func(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
	export := decode("", "key", "export")
	if !reflect.DeepEqual(keysOf(export), []string{"fingerprint", "paper_key"}) || export["fingerprint"] != owner.Fingerprint() {
		t.Errorf("export --json: %v", export)
	}
	split := decode("", "key", "split", "--shares", "3", "--threshold", "2")
	shares, _ := split["shares"].([]any)
	if !reflect.DeepEqual(keysOf(split), []string{"fingerprint", "shares", "threshold"}) || len(shares) != 3 || split["threshold"] != 2.0 {
		t.Fatalf("split --json: %v", split)
	}
	combine := decode(shares[2].(string)+" "+shares[0].(string), "key", "combine")
	if !reflect.DeepEqual(combine, export) {
		t.Errorf("combine --json: %v, want %v", combine, export)
	}
}

// TestOwnerKeyInput: the owner key flags read a paper key, a key file
// (sealed or not) or shares, from files or stdin, and refuse none or two
// at once.
func TestOwnerKeyInput(t *testing.T) {
	dir, owner := keyRepo(t, "right")
	paper := paperkey.Encode(owner.Secret())
	shares, err := paperkey.Split(owner.Secret(), 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, repo.OwnerFile)
	t.Setenv("CAIRN_PASSPHRASE", "right")
	for _, c := range []struct {
		name  string
		args  []string
		stdin string
		says  string // the error, if any
	}{
		{"paper key file", []string{"--paper-key", writeFile(t, "paper", paper+"\n")}, "", ""},
		{"paper key on stdin", []string{"--paper-key", "-"}, strings.ToUpper(paper), ""},
		{"sealed key file", []string{"--key-file", keyFile}, "", ""},
		{"share files", []string{"--share", writeFile(t, "s1", shares[0]), "--share", writeFile(t, "s3", shares[2])}, "", ""},
		{"shares on stdin", []string{"--share", "-"}, shares[1] + "\n" + shares[0], ""},
		{"none", nil, "", "no owner key given"},
		{"two ways", []string{"--paper-key", "-", "--share", "x"}, "", "more than one way (--paper-key, --share)"},
		{"stdin twice", []string{"--share", "-", "--share", "-"}, shares[0], "named twice"},
		{"a bad paper key", []string{"--paper-key", "-"}, paper[:len(paper)-6], "wrong length"},
		{"too few shares", []string{"--share", "-"}, shares[0], "this split needs 2"},
	} {
		var in ownerKeyInput
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		in.register(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, err := in.read(strings.NewReader(c.stdin))
		switch {
		case c.says == "" && (err != nil || got.Secret() != owner.Secret()):
			t.Errorf("%s: %v, or not the owner key", c.name, err)
		case c.says != "" && (err == nil || !strings.Contains(err.Error(), c.says)):
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.says)
		}
	}
	t.Setenv("CAIRN_PASSPHRASE", "wrong")
	var in ownerKeyInput
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.String("passphrase-file", "", "the command's own")
	in.register(fs)
	pass := writeFile(t, "pass", "right\n")
	if err := fs.Parse([]string{"--key-file", keyFile, "--passphrase-file", pass}); err != nil {
		t.Fatal(err)
	}
	if got, err := in.read(nil); err != nil || got.Secret() != owner.Secret() {
		t.Errorf("sealed key file with the command's own --passphrase-file: %v", err)
	}
}

// mistype returns another character of the paper key alphabet.
func mistype(c byte) byte {
	if c == '7' {
		return '8'
	}
	return '7'
}
