// Package snapshot owns the point-in-time snapshot of a node: the format
// of the tar stream `cairn snapshot` writes, and restoring one into a new
// repository, complete or not at all.
//
// # Format
//
// A snapshot is a tar stream whose entries come in this order:
//
//	cairn-snapshot/header.json   what it is: node, federation, owner, time, event cursor
//	cairn-snapshot/owner.key     the owner key file, only when a passphrase seals it
//	cairn-snapshot/keys.sealed   the node's identity key (and the federation
//	                             authority key, if the node keeps it), sealed
//	                             under a key derived from the owner key
//	repo/...                     config.toml, federation.roster, index/ (a
//	                             checkpoint of the metadata store), events/
//	blocks/CID                   each stored block, when blocks are included
//	cairn-snapshot/manifest.json every entry above with its size and SHA-256
//
// No key is ever in it in the clear: restoring takes the owner key, from
// the passphrase that seals owner.key or from a paper key. A snapshot that
// ends before its manifest, or whose entries do not match it, restores
// nothing.
package snapshot

import (
	"archive/tar"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"time"

	blocks "github.com/ipfs/go-block-format"

	"github.com/cairn-fed/cairn/internal/keys"
)

// Format is the snapshot format this code writes and reads.
const Format = 1

// Names of the entries that are not repository files.
const (
	headerEntry   = "cairn-snapshot/header.json"
	ownerKeyEntry = "cairn-snapshot/owner.key"
	keysEntry     = "cairn-snapshot/keys.sealed"
	manifestEntry = "cairn-snapshot/manifest.json"
	repoPrefix    = "repo/"
	blockPrefix   = "blocks/"
)

// Bounds on what a reader holds in memory for one entry.
const (
	maxHeaderBytes   = 64 << 10
	maxKeysBytes     = 1 << 20
	maxManifestBytes = 1 << 30 // about 6 million entries
	maxBlockBytes    = 8 << 20
)

// Sentinel errors callers branch on.
var (
	ErrNotSnapshot = errors.New("snapshot: not a Cairn snapshot")
	ErrTruncated   = errors.New("snapshot: truncated")
	ErrCorrupt     = errors.New("snapshot: corrupt")
	ErrWrongOwner  = errors.New("snapshot: the owner key given is not the snapshot's owner key")
	ErrNotEmpty    = errors.New("snapshot: the target directory is not empty")
)

// Header says what a snapshot is of. It is the first entry, so a reader
// can tell what it holds (and what it needs to open it) before the rest.
type Header struct {
	Format     int       `json:"format"`
	Node       string    `json:"node"`                 // the node's peer ID
	Federation string    `json:"federation,omitempty"` // its federation's name, if it is in one
	Owner      string    `json:"owner"`                // the owner key's fingerprint
	Created    time.Time `json:"created"`
	// Cursor is the event-log position the snapshot is at: every event
	// up to it is in the snapshot's log, and the metadata store was
	// copied after it.
	Cursor string `json:"cursor"`
	// OwnerKey is set when the owner key file is included, sealed under
	// the repository's passphrase; otherwise restoring takes a paper key.
	OwnerKey bool `json:"owner_key"`
	Blocks   bool `json:"blocks"` // whether stored blocks are included
}

// Secrets are the key files sealed inside a snapshot, as the repository
// holds them.
type Secrets struct {
	Identity  []byte `json:"identity"`
	Authority []byte `json:"authority,omitempty"`
	// PSK is the libp2p private-network key of swarm.psk_file, and
	// PSKFile that setting: restored beside the config when it names a
	// file in the repository.
	PSK     []byte `json:"psk,omitempty"`
	PSKFile string `json:"psk_file,omitempty"`
}

// Entry is one entry of the manifest.
type Entry struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

type manifest struct {
	Format  int     `json:"format"`
	Entries []Entry `json:"entries"`
	// MAC is HMAC-SHA256 under the owner's snapshot MAC key of the
	// manifest without it: the hashes alone anyone could recompute after
	// changing an entry.
	MAC []byte `json:"mac"`
}

// sign sets m.MAC.
func (m *manifest) sign(owner *keys.Owner) error {
	mac, err := m.mac(owner)
	m.MAC = mac
	return err
}

// verify checks m.MAC.
func (m manifest) verify(owner *keys.Owner) error {
	want, err := m.mac(owner)
	if err != nil {
		return err
	}
	if !hmac.Equal(want, m.MAC) {
		return fmt.Errorf("%w: the manifest is not the owner's: an entry was changed after the snapshot was written", ErrCorrupt)
	}
	return nil
}

func (m manifest) mac(owner *keys.Owner) ([]byte, error) {
	m.MAC = nil
	data, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("snapshot: encode manifest: %w", err)
	}
	key := owner.SnapshotMACKey()
	h := hmac.New(sha256.New, key[:])
	h.Write(data)
	return h.Sum(nil), nil
}

// Summary is what a written or restored snapshot holds.
type Summary struct {
	Header Header `json:"header"`
	Files  int    `json:"files"`
	Blocks int    `json:"blocks"`
	Bytes  int64  `json:"bytes"` // of the entries, before tar's framing
	// Notes say what a restore could not put back by itself.
	Notes []string `json:"notes,omitempty"`
}

// Writer writes a snapshot. Add the repository's files and blocks, then
// Close: the manifest goes last, so a stream cut short is never taken
// for a whole snapshot.
type Writer struct {
	tw      *tar.Writer
	owner   *keys.Owner
	at      time.Time
	entries []Entry
	sum     Summary
}

// NewWriter starts a snapshot on w: it writes the header, the owner key
// file when ownerKeyFile is not nil (it must be sealed under a
// passphrase), and secrets sealed under owner's snapshot key.
func NewWriter(w io.Writer, h Header, ownerKeyFile []byte, secrets Secrets, owner *keys.Owner) (*Writer, error) {
	if ownerKeyFile != nil && !keys.Protected(ownerKeyFile) {
		return nil, errors.New("snapshot: the owner key file is not sealed; it stays out of the snapshot")
	}
	h.Format, h.OwnerKey, h.Owner = Format, ownerKeyFile != nil, owner.Fingerprint()
	head, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("snapshot: encode header: %w", err)
	}
	sealed, err := sealSecrets(secrets, owner, head)
	if err != nil {
		return nil, err
	}
	sw := &Writer{tw: tar.NewWriter(w), owner: owner, at: h.Created, sum: Summary{Header: h}}
	if err := sw.addBytes(headerEntry, head); err != nil {
		return nil, err
	}
	if ownerKeyFile != nil {
		if err := sw.addBytes(ownerKeyEntry, ownerKeyFile); err != nil {
			return nil, err
		}
	}
	if err := sw.addBytes(keysEntry, sealed); err != nil {
		return nil, err
	}
	return sw, nil
}

// AddFile adds the first size bytes of the file at path as the
// repository file name (slash-separated, relative to the repository).
// size < 0 takes the whole file. A file that does not exist returns an
// error satisfying errors.Is(err, fs.ErrNotExist) and adds nothing.
func (w *Writer) AddFile(name, path string, size int64) error {
	if err := checkRepoName(name); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer f.Close()
	if size < 0 {
		info, err := f.Stat()
		if err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		size = info.Size()
	}
	return w.AddReader(name, f, size)
}

// AddReader adds the first size bytes read from r as the repository file
// name.
func (w *Writer) AddReader(name string, r io.Reader, size int64) error {
	if err := checkRepoName(name); err != nil {
		return err
	}
	if err := w.add(repoPrefix+name, size, io.LimitReader(r, size)); err != nil {
		return err
	}
	w.sum.Files++
	return nil
}

// AddBlock adds a stored block.
func (w *Writer) AddBlock(b blocks.Block) error {
	data := b.RawData()
	if err := w.add(blockPrefix+b.Cid().String(), int64(len(data)), bytes.NewReader(data)); err != nil {
		return err
	}
	w.sum.Blocks++
	return nil
}

// Close writes the manifest and ends the tar stream. It does not close
// the underlying writer.
func (w *Writer) Close() (Summary, error) {
	man := manifest{Format: Format, Entries: w.entries}
	if err := man.sign(w.owner); err != nil {
		return w.sum, err
	}
	m, err := json.Marshal(man)
	if err != nil {
		return w.sum, fmt.Errorf("snapshot: encode manifest: %w", err)
	}
	if len(m) > maxManifestBytes {
		return w.sum, fmt.Errorf("snapshot: %d entries make a manifest larger than a restore reads (%d bytes); take the snapshot without --blocks", len(w.entries), maxManifestBytes)
	}
	if err := w.writeEntry(manifestEntry, int64(len(m)), bytes.NewReader(m), nil); err != nil {
		return w.sum, err
	}
	if err := w.tw.Close(); err != nil {
		return w.sum, fmt.Errorf("snapshot: end the stream: %w", err)
	}
	return w.sum, nil
}

func (w *Writer) addBytes(name string, data []byte) error {
	return w.add(name, int64(len(data)), bytes.NewReader(data))
}

// add writes one entry and records it for the manifest.
func (w *Writer) add(name string, size int64, r io.Reader) error {
	h := sha256.New()
	if err := w.writeEntry(name, size, r, h); err != nil {
		return err
	}
	w.entries = append(w.entries, Entry{Name: name, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))})
	w.sum.Bytes += size
	return nil
}

func (w *Writer) writeEntry(name string, size int64, r io.Reader, h hash.Hash) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600, ModTime: w.at, Format: tar.FormatPAX}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("snapshot: write %s: %w", name, err)
	}
	dst := io.Writer(w.tw)
	if h != nil {
		dst = io.MultiWriter(w.tw, h)
	}
	n, err := io.Copy(dst, r)
	if err == nil && n != size {
		err = fmt.Errorf("%d bytes where %d were expected (the file shrank)", n, size)
	}
	if err != nil {
		return fmt.Errorf("snapshot: write %s: %w", name, err)
	}
	return nil
}
