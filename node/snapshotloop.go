package node

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ipfs/go-datastore"

	"github.com/cairn-fed/cairn/internal/atomicfile"
	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/netstat"
)

// Scheduled snapshots: every snapshot.interval the daemon writes one into
// snapshot.dir and keeps the newest snapshot.keep there; with
// snapshot.federation it also stores each in the federation as an object
// of the owner's, and deletes the older ones beyond keep.

// Names of scheduled snapshots: the prefix, then the time, which sorts.
const (
	scheduledPrefix = "cairn-snapshot-"
	scheduledSuffix = ".tar"
	scheduledTime   = "20060102T150405Z"
)

// firstSnapshotDelay is how long after start the first scheduled snapshot
// waits when the directory holds none yet.
const firstSnapshotDelay = time.Minute

// SnapshotName is the name a snapshot taken at t goes by, in a directory
// and in the federation.
func SnapshotName(t time.Time) string {
	return scheduledPrefix + t.UTC().Format(scheduledTime) + scheduledSuffix
}

// snapshotTime reads the time back from a name SnapshotName made.
func snapshotTime(name string) (time.Time, bool) {
	s, ok := strings.CutPrefix(name, scheduledPrefix)
	if !ok {
		return time.Time{}, false
	}
	if s, ok = strings.CutSuffix(s, scheduledSuffix); !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(scheduledTime, s)
	return t, err == nil
}

// snapshotDir is where scheduled snapshots go.
func (n *Node) snapshotDir() string {
	dir := n.cfg.Snapshot.Dir
	if !filepath.IsAbs(dir) {
		dir = n.disk.repo.Path(dir)
	}
	return dir
}

// scheduledSnapshots lists the scheduled snapshots in dir, oldest first.
func scheduledSnapshots(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		if _, ok := snapshotTime(e.Name()); ok && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names
}

// snapshotLoop writes a snapshot every snapshot.interval after the newest
// one in the directory (so restarts do not reset the clock).
func (n *Node) snapshotLoop(ctx context.Context) {
	interval := n.cfg.Snapshot.Interval.Duration
	if interval <= 0 {
		return
	}
	removeKilledSnapshots(n.snapshotDir())
	now := time.Now()
	next := now.Add(min(interval, firstSnapshotDelay))
	if names := scheduledSnapshots(n.snapshotDir()); len(names) > 0 {
		last, _ := snapshotTime(names[len(names)-1])
		if next = last.Add(interval); next.After(now.Add(interval)) {
			next = now.Add(interval) // a name from a clock that was ahead waits no longer
		}
	}
	for {
		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		if _, err := n.scheduledSnapshot(ctx, time.Now()); err != nil && ctx.Err() == nil {
			n.logger.Warn("scheduled snapshot failed; trying again in a minute", "err", err)
			next = time.Now().Add(min(interval, time.Minute))
			continue
		}
		next = time.Now().Add(interval)
	}
}

// removeKilledSnapshots removes what scheduled snapshots that a killed
// daemon was writing left in dir: atomicfile's partial files of names
// SnapshotName made.
func removeKilledSnapshots(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if name, ok := strings.CutPrefix(e.Name(), "."); ok && e.Type().IsRegular() {
			if i := strings.Index(name, ".tmp-"); i > 0 {
				if _, ok := snapshotTime(name[:i]); ok {
					atomicfile.RemovePartial(filepath.Join(dir, name[:i]))
				}
			}
		}
	}
}

// scheduledSnapshot writes one snapshot into the directory, stores it in
// the federation if configured, and prunes. It returns the file's path.
func (n *Node) scheduledSnapshot(ctx context.Context, now time.Time) (string, error) {
	dir := n.snapshotDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("snapshot directory: %w", err)
	}
	path := filepath.Join(dir, SnapshotName(now))
	pr, pw := io.Pipe()
	go func() {
		_, err := n.Snapshot(ctx, pw, SnapshotOptions{Blocks: n.cfg.Snapshot.Blocks})
		pw.CloseWithError(err)
	}()
	_, err := atomicfile.WriteFrom(path, pr, 0o600)
	pr.CloseWithError(err) // a failed write ends the snapshot too
	if err != nil {
		return "", err
	}
	n.logger.Info("snapshot written", "path", path)
	if n.cfg.Snapshot.Federation {
		if err := n.storeSnapshot(ctx, path); err != nil {
			return path, err
		}
	}
	names := scheduledSnapshots(dir)
	for _, i := range n.prunable(namedTimes(names), now) {
		old := names[i]
		if old == filepath.Base(path) {
			continue // a name from a clock that was ahead sorts after it
		}
		if err := os.Remove(filepath.Join(dir, old)); err != nil {
			n.logger.Warn("prune an old snapshot", "name", old, "err", err)
		}
	}
	return path, nil
}

// prunable picks, among snapshots taken at times (oldest first), the
// indices of those beyond snapshot.keep and of those older than
// snapshot.keep_for at now; never the last.
func (n *Node) prunable(times []time.Time, now time.Time) []int {
	keep, keepFor := n.cfg.Snapshot.Keep, n.cfg.Snapshot.KeepFor.Duration
	var out []int
	for i, t := range times[:max(0, len(times)-1)] {
		if i < len(times)-keep || (keepFor > 0 && now.Sub(t) > keepFor) {
			out = append(out, i)
		}
	}
	return out
}

// namedTimes reads the time of each name SnapshotName made.
func namedTimes(names []string) []time.Time {
	out := make([]time.Time, len(names))
	for i, name := range names {
		out[i], _ = snapshotTime(name)
	}
	return out
}

// storeSnapshot adds a snapshot file as an object of the owner's.
func (n *Node) storeSnapshot(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store the snapshot in the federation: %w", err)
	}
	defer f.Close()
	_, err = n.addSnapshot(ctx, filepath.Base(path), f)
	return err
}

// StoreSnapshot takes a snapshot and stores it in the federation as an
// object of the owner's, named as a scheduled one is: it replicates like
// any other, and counts among the snapshot.keep kept there.
func (n *Node) StoreSnapshot(ctx context.Context, opts SnapshotOptions) (AddResult, error) {
	pr, pw := io.Pipe()
	go func() {
		_, err := n.Snapshot(ctx, pw, opts)
		pw.CloseWithError(err)
	}()
	res, err := n.addSnapshot(ctx, SnapshotName(time.Now()), pr)
	pr.CloseWithError(err)
	return res, err
}

// storedSnapshotsPrefix keys the snapshots this node stored in the
// federation, by object ID, with the name each went by: only those are
// pruned, never an object of the user's that has such a name.
var storedSnapshotsPrefix = datastore.NewKey("/snapshot/stored")

// addSnapshot adds a snapshot as an object of the owner's, records it as
// one, and deletes the stored snapshots beyond snapshot.keep_for and
// snapshot.keep, oldest first, among those up to the newest that is
// backed up.
func (n *Node) addSnapshot(ctx context.Context, name string, r io.Reader) (AddResult, error) {
	res, err := n.Add(ctx, object.NewReaderSource(name, r), AddOptions{Name: name, New: true})
	if err != nil {
		return res, fmt.Errorf("store the snapshot in the federation: %w", err)
	}
	if err := n.disk.meta.Put(ctx, storedSnapshotsPrefix.ChildString(res.CID), []byte(name)); err != nil {
		return res, fmt.Errorf("record the stored snapshot: %w", err)
	}
	n.logger.Info("snapshot stored in the federation", "cid", res.CID)
	type stored struct{ name, id string }
	var older, gone []stored
	err = n.eachStored(ctx, storedSnapshotsPrefix.String()+"/", func(id string, v []byte) error {
		switch {
		case n.isDeleted(id):
			gone = append(gone, stored{string(v), id})
		case id != res.CID:
			older = append(older, stored{string(v), id})
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("list stored snapshots: %w", err)
	}
	for _, g := range gone {
		n.disk.meta.Delete(ctx, storedSnapshotsPrefix.ChildString(g.id))
	}
	slices.SortFunc(older, func(a, b stored) int { return strings.Compare(a.name, b.name) })
	// Only snapshots older than the newest one backed up go: until the
	// new one has its copies, the older ones are what the federation has.
	// When none is backed up, none is safer than the new one.
	all := append(older, stored{name, res.CID}) // the new one last, whatever its name
	for i := len(older) - 1; i >= 0; i-- {
		if v, err := n.Status(ctx, older[i].id); err == nil && v.State == netstat.StateBackedUp {
			all = older[:i+1]
			break
		}
	}
	names := make([]string, len(all))
	for i, o := range all {
		names[i] = o.name
	}
	for _, i := range n.prunable(namedTimes(names), time.Now()) {
		if _, err := n.Delete(ctx, all[i].id); err != nil {
			n.logger.Warn("delete an old snapshot from the federation", "cid", all[i].id, "err", err)
		}
	}
	return res, nil
}
