package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
	ipld "github.com/ipfs/go-ipld-format"

	"github.com/cairn-fed/cairn/internal/keys"
	"github.com/cairn-fed/cairn/node/eventlog"
	"github.com/cairn-fed/cairn/node/repo"
	"github.com/cairn-fed/cairn/node/snapshot"
)

// Point-in-time snapshots of the node (package node/snapshot): the event
// log up to one cursor, then a checkpoint of the metadata store, the
// config and roster, the keys sealed under the owner key, and the blocks
// if asked. Restoring one is offline (`cairn restore`); the restored
// node catches up with the federation when it starts (catchUp).

// snapshotWorkDir holds the metadata store's checkpoints while snapshots
// are written; what a killed daemon left there is removed at start.
const snapshotWorkDir = "snapshot.tmp"

// ErrSnapshotRunning: a snapshot is being written already.
var ErrSnapshotRunning = errors.New("node: a snapshot is being written already; try again when it is done")

// SnapshotOptions are the choices of `cairn snapshot`.
type SnapshotOptions struct {
	Blocks bool // include every stored block
}

// Snapshot writes a snapshot of the node's state to w while the node
// runs. The event cursor is taken first and the metadata store copied
// after it, so everything an event up to the cursor reports is in the
// copy; what happens later is learned again after a restore.
func (n *Node) Snapshot(ctx context.Context, w io.Writer, opts SnapshotOptions) (snapshot.Summary, error) {
	if !n.disk.snapshotting.CompareAndSwap(false, true) {
		return snapshot.Summary{}, ErrSnapshotRunning
	}
	defer n.disk.snapshotting.Store(false)
	r := n.disk.repo
	segments, cursor := n.obs.Log().Synced()
	events := openSegments(segments)
	defer func() {
		for _, e := range events {
			e.f.Close()
		}
	}()
	ownerFile, secrets, err := n.snapshotKeys()
	if err != nil {
		return snapshot.Summary{}, err
	}
	h := snapshot.Header{Node: n.net.host.ID().String(), Created: time.Now().UTC().Truncate(time.Second),
		Cursor: cursor.String(), Blocks: opts.Blocks}
	if roster := n.fed.Roster(); roster != nil {
		h.Federation = roster.Name
	}
	n.saveMemberAddrs(ctx, nil) // so the restored node finds the members at once
	checkpoint, err := n.checkpointMeta()
	if err != nil {
		return snapshot.Summary{}, err
	}
	defer os.RemoveAll(checkpoint)
	sw, err := snapshot.NewWriter(w, h, ownerFile, secrets, n.ownerKeys())
	if err != nil {
		return snapshot.Summary{}, err
	}
	for _, name := range []string{repo.ConfigFile, repo.RosterFile} {
		if err := sw.AddFile(name, r.Path(name), -1); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return snapshot.Summary{}, err
		}
	}
	if err := addDir(sw, repo.IndexDir, checkpoint); err != nil {
		return snapshot.Summary{}, err
	}
	for _, e := range events {
		if err := sw.AddReader(repo.EventsDir+"/"+e.Name, e.f, e.Size); err != nil {
			return snapshot.Summary{}, err
		}
	}
	forks, err := n.obs.Log().Forks()
	if err == nil && forks != nil {
		err = sw.AddReader(repo.EventsDir+"/"+eventlog.ForksFile, bytes.NewReader(forks), int64(len(forks)))
	}
	if err != nil {
		return snapshot.Summary{}, err
	}
	if opts.Blocks {
		if err := n.snapshotBlocks(ctx, sw); err != nil {
			return snapshot.Summary{}, err
		}
	}
	return sw.Close()
}

// openSegment is a segment of the event log, open for copying.
type openSegment struct {
	eventlog.SegmentFile
	f *os.File
}

// openSegments opens the segments newest first, stopping at one that
// retention deleted since they were listed: it deletes oldest first, so
// the segments kept are the newest ones, without a gap. They are
// returned oldest first.
func openSegments(segs []eventlog.SegmentFile) []openSegment {
	var out []openSegment
	for i := len(segs) - 1; i >= 0; i-- {
		f, err := os.Open(segs[i].Path)
		if err != nil {
			break
		}
		out = append(out, openSegment{segs[i], f})
	}
	slices.Reverse(out)
	return out
}

// snapshotKeys reads the key files a snapshot seals: the owner key file
// goes in only when a passphrase seals it.
func (n *Node) snapshotKeys() ([]byte, snapshot.Secrets, error) {
	r := n.disk.repo
	var s snapshot.Secrets
	ownerFile, err := os.ReadFile(r.Path(repo.OwnerFile))
	if err != nil {
		return nil, s, fmt.Errorf("snapshot: read the owner key: %w", err)
	}
	if !keys.Protected(ownerFile) {
		ownerFile = nil
	}
	if s.Identity, err = os.ReadFile(r.Path(repo.IdentityFile)); err != nil {
		return nil, s, fmt.Errorf("snapshot: read the node identity: %w", err)
	}
	if s.Authority, err = os.ReadFile(r.Path(repo.AuthorityFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, s, fmt.Errorf("snapshot: read the federation authority key: %w", err)
	}
	if name := n.cfg.Swarm.PSKFile; name != "" {
		path := name
		if !filepath.IsAbs(path) {
			path = r.Path(path)
		}
		if s.PSK, err = os.ReadFile(path); err != nil {
			return nil, s, fmt.Errorf("snapshot: read the private-network key of swarm.psk_file: %w", err)
		}
		s.PSKFile = name
	}
	return ownerFile, s, nil
}

// checkpointMeta makes a consistent copy of the metadata store (hard
// links to its immutable tables, plus the flushed log) and returns its
// directory.
func (n *Node) checkpointMeta() (string, error) {
	work := n.disk.repo.Path(snapshotWorkDir)
	if err := os.MkdirAll(work, 0o700); err != nil {
		return "", fmt.Errorf("snapshot: %w", err)
	}
	var b [8]byte
	rand.Read(b[:])
	dir := filepath.Join(work, hex.EncodeToString(b[:]))
	if err := n.disk.meta.DB.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("snapshot: checkpoint the metadata store: %w", err)
	}
	return dir, nil
}

// removeSnapshotWork removes checkpoints a killed daemon left behind.
func removeSnapshotWork(r *repo.Repo) error {
	if err := os.RemoveAll(r.Path(snapshotWorkDir)); err != nil {
		return fmt.Errorf("remove an interrupted snapshot's files: %w", err)
	}
	return nil
}

// addDir adds every file of dir as the repository directory name.
func addDir(sw *snapshot.Writer, name, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			return fmt.Errorf("snapshot: %s holds %s, which is not a file", dir, e.Name())
		}
		if err := sw.AddFile(name+"/"+e.Name(), filepath.Join(dir, e.Name()), -1); err != nil {
			return err
		}
	}
	return nil
}

// snapshotBlocks adds every stored block; one deleted meanwhile is
// skipped.
func (n *Node) snapshotBlocks(ctx context.Context, sw *snapshot.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	keys, walkErr, err := n.disk.blocks.AllKeysChanWithErr(ctx)
	if err != nil {
		return fmt.Errorf("snapshot: list blocks: %w", err)
	}
	for c := range keys {
		b, err := n.disk.blocks.Get(ctx, c)
		if ipld.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("snapshot: read block %s: %w", c, err)
		}
		if err := sw.AddBlock(b); err != nil {
			return err
		}
	}
	if err := walkErr(); err != nil {
		return fmt.Errorf("snapshot: list blocks: %w", err)
	}
	return ctx.Err()
}
