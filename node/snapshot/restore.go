package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"

	"github.com/cairn-fed/cairn/internal/keys"
	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/blockstore"
	"github.com/cairn-fed/cairn/node/eventlog"
	"github.com/cairn-fed/cairn/node/repo"
)

// Unlock returns the owner key that opens a snapshot whose header is h:
// from the passphrase that seals ownerKeyFile (nil unless h.OwnerKey) or
// from a paper key.
type Unlock func(h Header, ownerKeyFile []byte) (*keys.Owner, error)

// repoFiles are the repository files and directories a snapshot carries.
// Keys are not among them: they travel sealed (Secrets).
var repoFiles = map[string]bool{ // name -> is a directory of files
	repo.ConfigFile: false,
	repo.RosterFile: false,
	repo.IndexDir:   true,
	repo.EventsDir:  true,
}

// checkRepoName accepts the names of repository files a snapshot may
// carry: no other file, nothing outside the repository, one level of
// directory at most.
func checkRepoName(name string) error {
	first, rest, nested := strings.Cut(name, "/")
	dir, known := repoFiles[first]
	if !known || nested != dir || path.Clean(name) != name || strings.Contains(rest, "/") || rest == "." || rest == ".." {
		return fmt.Errorf("%w: %q is not a repository file a snapshot carries", ErrCorrupt, name)
	}
	return nil
}

// Restore reads a snapshot from r into a new repository at dir, which
// must be absent or empty. The repository appears only once every entry
// matched the owner's manifest and is synced (see target.go); a restore
// cut short leaves nothing a daemon would start on, and the next one
// clears it. The repository is marked restored (repo.RestoredFile): the
// daemon catches up with the federation when it starts.
func Restore(ctx context.Context, r io.Reader, dir string, unlock Unlock) (Summary, error) {
	t, err := newTarget(filepath.Clean(dir))
	if err != nil {
		return Summary{}, err
	}
	rs := &restorer{ctx: ctx, tr: tar.NewReader(r), dir: t.build, unlock: unlock}
	sum, err := rs.run()
	if err == nil {
		err = t.place()
	}
	if err != nil {
		t.discard()
	}
	return sum, err
}

// restorer reads one snapshot into dir.
type restorer struct {
	ctx    context.Context
	tr     *tar.Reader
	dir    string
	unlock Unlock
	seen   []Entry
	sum    Summary
	blocks *blockstore.Store // opened at the first block
	owner  *keys.Owner       // once the keys are read
	batch  *blockstore.Batch // its blocks, made durable together at the manifest
}

func (rs *restorer) run() (Summary, error) {
	sum, err := rs.read()
	if rs.batch != nil && err != nil {
		rs.batch.Discard()
	}
	return sum, err
}

func (rs *restorer) read() (Summary, error) {
	head, err := rs.readHeader()
	if err != nil {
		return rs.sum, err
	}
	if err := rs.readKeys(head); err != nil {
		return rs.sum, err
	}
	for {
		hdr, err := rs.next()
		if err != nil {
			return rs.sum, err
		}
		switch name := hdr.Name; {
		case name == manifestEntry:
			if err := rs.checkManifest(hdr); err != nil {
				return rs.sum, err
			}
			if err := rs.commitBlocks(); err != nil {
				return rs.sum, err
			}
			return rs.sum, rs.finish(head)
		case strings.HasPrefix(name, repoPrefix):
			err = rs.restoreFile(hdr)
		case strings.HasPrefix(name, blockPrefix):
			err = rs.restoreBlock(hdr)
		default:
			err = fmt.Errorf("%w: unexpected entry %q", ErrCorrupt, name)
		}
		if err != nil {
			return rs.sum, err
		}
	}
}

// next returns the next entry, which must be a regular file.
func (rs *restorer) next() (*tar.Header, error) {
	if err := rs.ctx.Err(); err != nil {
		return nil, err
	}
	hdr, err := rs.tr.Next()
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("%w: it ends after %d entries, before its manifest; take the snapshot again", ErrTruncated, len(rs.seen))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: entry %d: %v", ErrCorrupt, len(rs.seen)+1, err)
	}
	if hdr.Typeflag != tar.TypeReg || hdr.Size < 0 || sparse(hdr) {
		return nil, fmt.Errorf("%w: entry %q is not a plain file (cairn snapshot writes only plain files): the file is not a snapshot as written", ErrCorrupt, hdr.Name)
	}
	return hdr, nil
}

// sparse reports a sparse-file entry, which the tar reader expands to its
// declared size from a few bytes: a snapshot never holds one.
func sparse(hdr *tar.Header) bool {
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// readSmall reads an entry of at most limit bytes and records it.
func (rs *restorer) readSmall(hdr *tar.Header, limit int64) ([]byte, error) {
	if hdr.Size > limit {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than %d", ErrCorrupt, hdr.Name, hdr.Size, limit)
	}
	data, err := io.ReadAll(rs.tr)
	if err != nil {
		return nil, rs.readError(hdr, err)
	}
	rs.record(hdr.Name, data)
	return data, nil
}

func (rs *restorer) readError(hdr *tar.Header, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: it ends inside %s; take the snapshot again", ErrTruncated, hdr.Name)
	}
	return fmt.Errorf("snapshot: read %s: %w", hdr.Name, err)
}

func (rs *restorer) record(name string, data []byte) {
	sum := sha256.Sum256(data)
	rs.seen = append(rs.seen, Entry{Name: name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
	rs.sum.Bytes += int64(len(data))
}

func (rs *restorer) readHeader() ([]byte, error) {
	hdr, err := rs.tr.Next()
	if err != nil || hdr.Name != headerEntry {
		return nil, fmt.Errorf("%w: it does not start with %s", ErrNotSnapshot, headerEntry)
	}
	head, err := rs.readSmall(hdr, maxHeaderBytes)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(head, &rs.sum.Header); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	if f := rs.sum.Header.Format; f != Format {
		return nil, fmt.Errorf("%w: format %d; this cairn reads format %d", ErrNotSnapshot, f, Format)
	}
	return head, nil
}

// create writes a new file of the repository, synced, and returns its
// SHA-256.
func (rs *restorer) create(name string, r io.Reader) (string, error) {
	p := filepath.Join(rs.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", fmt.Errorf("snapshot: restore %s: %w", name, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("snapshot: restore %s: %w", name, err)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("snapshot: restore %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (rs *restorer) restoreFile(hdr *tar.Header) error {
	name := strings.TrimPrefix(hdr.Name, repoPrefix)
	if err := checkRepoName(name); err != nil {
		return err
	}
	sum, err := rs.create(name, rs.tr)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return rs.readError(hdr, err)
		}
		return err
	}
	rs.seen = append(rs.seen, Entry{Name: hdr.Name, Size: hdr.Size, SHA256: sum})
	rs.sum.Bytes += hdr.Size
	rs.sum.Files++
	return nil
}

func (rs *restorer) restoreBlock(hdr *tar.Header) error {
	text := strings.TrimPrefix(hdr.Name, blockPrefix)
	c, err := cid.Decode(text)
	if err != nil || c.String() != text {
		return fmt.Errorf("%w: %q does not name a block", ErrCorrupt, hdr.Name)
	}
	data, err := rs.readSmall(hdr, maxBlockBytes)
	if err != nil {
		return err
	}
	if sum, err := c.Prefix().Sum(data); err != nil || !sum.Equals(c) {
		return fmt.Errorf("%w: block %s does not hash to its CID", ErrCorrupt, c)
	}
	b, err := blocks.NewBlockWithCid(data, c)
	if err != nil {
		return fmt.Errorf("%w: block %s: %v", ErrCorrupt, c, err)
	}
	if rs.blocks == nil {
		if rs.blocks, err = blockstore.Open(filepath.Join(rs.dir, repo.BlocksDir), blockstore.DefaultConfig(), slog.New(slog.DiscardHandler)); err != nil {
			return fmt.Errorf("snapshot: restore blocks: %w", err)
		}
		rs.batch = rs.blocks.NewBatch()
	}
	if err := rs.batch.Put(rs.ctx, b); err != nil {
		return fmt.Errorf("snapshot: restore block %s: %w", c, err)
	}
	rs.sum.Blocks++
	return nil
}

// commitBlocks makes the restored blocks durable: one sync per batch
// flush, not one per block (a thousand blocks took seconds).
func (rs *restorer) commitBlocks() error {
	if rs.batch == nil {
		return nil
	}
	if err := rs.batch.Commit(rs.ctx); err != nil {
		return fmt.Errorf("snapshot: restore blocks: %w", err)
	}
	return nil
}

// checkManifest checks that the manifest lists exactly the entries read,
// and that nothing follows it.
func (rs *restorer) checkManifest(hdr *tar.Header) error {
	if hdr.Size > maxManifestBytes {
		return fmt.Errorf("%w: manifest of %d bytes", ErrCorrupt, hdr.Size)
	}
	data, err := io.ReadAll(rs.tr)
	if err != nil {
		return rs.readError(hdr, err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("%w: manifest: %v", ErrCorrupt, err)
	}
	if err := m.verify(rs.owner); err != nil {
		return err
	}
	if len(m.Entries) != len(rs.seen) {
		return fmt.Errorf("%w: the manifest lists %d entries, the snapshot holds %d", ErrCorrupt, len(m.Entries), len(rs.seen))
	}
	for i, e := range m.Entries {
		if e != rs.seen[i] {
			return fmt.Errorf("%w: %s does not match the manifest", ErrCorrupt, rs.seen[i].Name)
		}
	}
	if _, err := rs.tr.Next(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: entries follow the manifest", ErrCorrupt)
	}
	return nil
}

// finish checks that the repository is whole and marks it restored.
func (rs *restorer) finish(head []byte) error {
	for _, need := range []string{repo.ConfigFile, repo.IndexDir} {
		if _, err := os.Stat(filepath.Join(rs.dir, need)); err != nil {
			return fmt.Errorf("%w: it holds no %s", ErrCorrupt, need)
		}
	}
	// The lost node may have recorded events after the snapshot's: the
	// restored log goes on after a gap, so no cursor means two events.
	cursor, err := netstat.ParseCursor(rs.sum.Header.Cursor)
	if err != nil {
		return fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	if err := eventlog.Fork(filepath.Join(rs.dir, repo.EventsDir), cursor.Seq()); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(rs.dir, repo.BlocksDir), 0o700); err != nil {
		return fmt.Errorf("snapshot: create the block store: %w", err)
	}
	_, err = rs.create(repo.RestoredFile, bytes.NewReader(head))
	return err
}
