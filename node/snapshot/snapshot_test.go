package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"

	"github.com/cairn-fed/cairn/internal/keys"
	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/repo"
)

// fixture is a small repository's worth of files and a snapshot of it.
type fixture struct {
	owner *keys.Owner
	src   string // the repository the snapshot was taken of
	data  []byte // the snapshot
}

func newFixture(t testing.TB, sealedOwner []byte, withBlock bool) fixture {
	t.Helper()
	owner, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	files := map[string]string{
		repo.ConfigFile:               "[swarm]\n",
		repo.RosterFile:               "roster",
		repo.IndexDir + "/000001.sst": strings.Repeat("index ", 1000),
		repo.IndexDir + "/MANIFEST":   "manifest",
		repo.EventsDir + "/1.evlog":   "events and more not synced",
	}
	for name, body := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	h := Header{Node: "12D3KooWnode", Federation: "test", Created: time.Unix(1800000000, 0).UTC(), Cursor: netstat.CursorAt(6).String()}
	w, err := NewWriter(&buf, h, sealedOwner, Secrets{Identity: []byte("identity"), Authority: []byte("authority")}, owner)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{repo.ConfigFile, repo.RosterFile, repo.IndexDir + "/000001.sst", repo.IndexDir + "/MANIFEST"} {
		if err := w.AddFile(name, filepath.Join(src, filepath.FromSlash(name)), -1); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.AddFile(repo.EventsDir+"/1.evlog", filepath.Join(src, repo.EventsDir, "1.evlog"), int64(len("events"))); err != nil {
		t.Fatal(err)
	}
	if withBlock {
		if err := w.AddBlock(blocks.NewBlock([]byte("a block"))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return fixture{owner: owner, src: src, data: buf.Bytes()}
}

func (f fixture) unlock(_ Header, _ []byte) (*keys.Owner, error) { return f.owner, nil }

func TestRoundTrip(t *testing.T) {
	f := newFixture(t, nil, true)
	dir := filepath.Join(t.TempDir(), "restored")
	sum, err := Restore(context.Background(), bytes.NewReader(f.data), dir, f.unlock)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Files != 5 || sum.Blocks != 1 || sum.Header.Node != "12D3KooWnode" || sum.Header.Owner != f.owner.Fingerprint() {
		t.Fatalf("summary %+v", sum)
	}
	for name, want := range map[string]string{
		repo.ConfigFile: "[swarm]\n", repo.RosterFile: "roster", repo.IdentityFile: "identity",
		repo.AuthorityFile: "authority", repo.EventsDir + "/1.evlog": "events",
	} {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil || string(got) != want {
			t.Errorf("%s restored as %q (%v), want %q", name, got, err, want)
		}
	}
	owner, err := os.ReadFile(filepath.Join(dir, repo.OwnerFile))
	if err != nil {
		t.Fatal(err)
	}
	if o, err := keys.Unmarshal(owner, nil); err != nil || o.Secret() != f.owner.Secret() {
		t.Errorf("owner key restored as %v (%v)", o, err)
	}
	for _, name := range []string{repo.TokenFile, repo.RestoredFile, repo.BlocksDir} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("restored repository lacks %s: %v", name, err)
		}
	}
	if _, err := Restore(context.Background(), bytes.NewReader(f.data), dir, f.unlock); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("restore into a restored repository: %v, want ErrNotEmpty", err)
	}
}

func TestSealedOwnerKeyTravelsAsItIs(t *testing.T) {
	owner, _ := keys.Generate()
	sealed, err := owner.Marshal([]byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	bare, _ := owner.Marshal(nil)
	if _, err := NewWriter(io.Discard, Header{}, bare, Secrets{Identity: []byte("x")}, owner); err == nil {
		t.Error("a bare owner key went into a snapshot")
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{}, sealed, Secrets{Identity: []byte("x")}, owner)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("\"identity\"")) {
		t.Error("the identity key is in the clear")
	}
	var got []byte
	unlock := func(h Header, file []byte) (*keys.Owner, error) {
		got = file
		return keys.Unmarshal(file, []byte("pass"))
	}
	// The snapshot holds no config: it is refused after the keys open.
	if _, err := Restore(context.Background(), bytes.NewReader(buf.Bytes()), filepath.Join(t.TempDir(), "r"), unlock); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a snapshot without config: %v, want ErrCorrupt", err)
	}
	if !bytes.Equal(got, sealed) {
		t.Error("unlock was not handed the sealed owner key file")
	}
}

// TestRestoreRefusesBadSnapshots cuts, alters and rearranges a snapshot:
// each is refused with the error that says so, and the target is absent.
func TestRestoreRefusesBadSnapshots(t *testing.T) {
	f := newFixture(t, nil, true)
	other, _ := keys.Generate()
	cases := map[string]struct {
		data   []byte
		unlock Unlock
		want   error
	}{
		"empty":        {nil, f.unlock, ErrNotSnapshot},
		"not a tar":    {[]byte(strings.Repeat("x", 2000)), f.unlock, ErrNotSnapshot},
		"wrong owner":  {f.data, func(Header, []byte) (*keys.Owner, error) { return other, nil }, ErrWrongOwner},
		"cut in half":  {f.data[:len(f.data)/2], f.unlock, ErrTruncated},
		"no manifest":  {withoutEntry(t, f.data, manifestEntry), f.unlock, ErrTruncated},
		"changed file": {rewriteEntry(t, f.data, repoPrefix+repo.RosterFile, []byte("ROSTER")), f.unlock, ErrCorrupt},
		"escape":       {renameEntry(t, f.data, repoPrefix+repo.RosterFile, repoPrefix+"../evil"), f.unlock, ErrCorrupt},
		"key file":     {renameEntry(t, f.data, repoPrefix+repo.RosterFile, repoPrefix+repo.IdentityFile), f.unlock, ErrCorrupt},
		"deep path":    {renameEntry(t, f.data, repoPrefix+repo.IndexDir+"/MANIFEST", repoPrefix+repo.IndexDir+"/a/b"), f.unlock, ErrCorrupt},
		"bad block":    {rewriteBlock(t, f.data), f.unlock, ErrCorrupt},
		"swapped keys": {swapKeys(t, f.data, newFixture(t, nil, false).data), f.unlock, ErrCorrupt},
		"extra entry":  {appendEntry(t, f.data), f.unlock, ErrCorrupt},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "restored")
			_, err := Restore(context.Background(), bytes.NewReader(c.data), dir, c.unlock)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("a refused restore left %s: %v", dir, err)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".*")); len(left) > 0 {
				t.Errorf("a refused restore left %v", left)
			}
		})
	}
}

// TestRestoreRefusesAChangedEntry: whoever can write the file changes the
// config and writes a manifest with the new hashes; without the owner key
// the manifest's MAC does not match, and nothing is restored.
func TestRestoreRefusesAChangedEntry(t *testing.T) {
	f := newFixture(t, nil, false)
	evil := retar(t, f.data, func(name string, data []byte) []byte {
		if name == repoPrefix+repo.ConfigFile {
			return []byte("[api]\nlisten = \"0.0.0.0:5001\"\n")
		}
		return data
	}, nil)
	dir := filepath.Join(t.TempDir(), "r")
	if _, err := Restore(context.Background(), bytes.NewReader(evil), dir, f.unlock); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "not the owner's") {
		t.Fatalf("a changed config with a recomputed manifest: %v, want ErrCorrupt saying the manifest is not the owner's", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a refused restore left %s: %v", dir, err)
	}
}

// TestRestoreRefusesSparseEntries: a sparse entry of a few bytes would
// expand to any size on disk; it is refused before anything is written.
func TestRestoreRefusesSparseEntries(t *testing.T) {
	const logical = 64 << 20
	f := newFixture(t, nil, false)
	evil := retar(t, f.data, nil, func(out *bytes.Buffer, tw *tar.Writer, add func(Entry)) {
		recs := paxRecord("GNU.sparse.major", "0") + paxRecord("GNU.sparse.minor", "1") +
			paxRecord("GNU.sparse.numblocks", "1") + paxRecord("GNU.sparse.map", "0,0") + paxRecord("GNU.sparse.size", strconv.Itoa(logical)) +
			paxRecord("GNU.sparse.name", "repo/index/BIG")
		out.Write(rawHeader("PaxHeaders/BIG", 'x', int64(len(recs))))
		out.Write(pad([]byte(recs)))
		out.Write(rawHeader("repo/index/BIG", '0', 0))
		sum := sha256.Sum256(make([]byte, logical))
		add(Entry{Name: "repo/index/BIG", Size: logical, SHA256: hex.EncodeToString(sum[:])})
	})
	_, err := Restore(context.Background(), bytes.NewReader(evil), filepath.Join(t.TempDir(), "r"), f.unlock)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "plain file") {
		t.Fatalf("a sparse entry: %v, want ErrCorrupt saying it is not a plain file", err)
	}
}

// TestRestoreIntoAnExistingEmptyDirectory: an empty directory (a mount
// point, a volume) is built in place; what a killed in-place restore left
// there is cleared by the next restore; a refused one leaves it empty.
func TestRestoreIntoAnExistingEmptyDirectory(t *testing.T) {
	f := newFixture(t, nil, true)
	dir := t.TempDir()
	if _, err := Restore(context.Background(), bytes.NewReader(f.data[:len(f.data)/2]), dir, f.unlock); !errors.Is(err, ErrTruncated) {
		t.Fatalf("a truncated snapshot: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("a refused in-place restore left %v", left)
	}
	// Someone writes into the directory while a restore that fails runs:
	// what they wrote stays.
	theirs := filepath.Join(dir, "theirs.txt")
	unlock := func(h Header, file []byte) (*keys.Owner, error) {
		os.WriteFile(theirs, []byte("theirs"), 0o600)
		return f.unlock(h, file)
	}
	if _, err := Restore(context.Background(), bytes.NewReader(f.data[:len(f.data)-2000]), dir, unlock); !errors.Is(err, ErrTruncated) {
		t.Fatalf("a truncated snapshot: %v", err)
	}
	if _, err := os.Stat(theirs); err != nil {
		t.Fatalf("a failed in-place restore removed a file it did not write: %v", err)
	}
	os.Remove(theirs)
	// A restore killed while it moved entries into place.
	os.Mkdir(filepath.Join(dir, inPlaceDir), 0o700)
	os.WriteFile(filepath.Join(dir, repo.IdentityFile), []byte("half"), 0o600)
	if _, err := Restore(context.Background(), bytes.NewReader(f.data), dir, f.unlock); err != nil {
		t.Fatal(err)
	}
	if id, err := os.ReadFile(filepath.Join(dir, repo.IdentityFile)); err != nil || string(id) != "identity" {
		t.Errorf("identity after the restore: %q, %v", id, err)
	}
	for _, name := range []string{repo.ConfigFile, repo.RestoredFile, repo.IndexDir} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("restored in place without %s: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, inPlaceDir)); !os.IsNotExist(err) {
		t.Errorf("the build directory stayed: %v", err)
	}
}

// TestPrivateNetworkKeyTravelsSealed: the key of swarm.psk_file comes back
// beside the config when it is a file of the repository; one elsewhere is
// named in the summary's notes.
func TestPrivateNetworkKeyTravelsSealed(t *testing.T) {
	owner, _ := keys.Generate()
	for _, c := range []struct{ file, restored, note string }{
		{"swarm.key", "swarm.key", ""},
		{"/etc/cairn/swarm.key", "", "/etc/cairn/swarm.key"},
		{"../swarm.key", "", "../swarm.key"},
	} {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, Header{}, nil, Secrets{Identity: []byte("id"), PSK: []byte("psk"), PSKFile: c.file}, owner)
		if err != nil {
			t.Fatal(err)
		}
		src := t.TempDir()
		os.WriteFile(filepath.Join(src, "c"), []byte("config"), 0o600)
		os.WriteFile(filepath.Join(src, "i"), []byte("index"), 0o600)
		w.AddFile(repo.ConfigFile, filepath.Join(src, "c"), -1)
		w.AddFile(repo.IndexDir+"/x", filepath.Join(src, "i"), -1)
		if _, err := w.Close(); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "r")
		sum, err := Restore(context.Background(), bytes.NewReader(buf.Bytes()), dir, func(Header, []byte) (*keys.Owner, error) { return owner, nil })
		if err != nil {
			t.Fatal(err)
		}
		if c.restored != "" {
			if got, err := os.ReadFile(filepath.Join(dir, c.restored)); err != nil || string(got) != "psk" {
				t.Errorf("%s: restored key %q, %v", c.file, got, err)
			}
		}
		if notes := strings.Join(sum.Notes, " "); (c.note == "") != (notes == "") || !strings.Contains(notes, c.note) {
			t.Errorf("%s: notes %q, want one naming %q", c.file, notes, c.note)
		}
	}
}
