package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cairn-fed/cairn/internal/keys"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/snapshot"
)

// snapshotNode shows a point-in-time snapshot of a running node, restored
// into a new repository, checked entry by entry.
func (t *tour) snapshotNode(ctx context.Context) error {
	owner := t.members[0]
	t.heading("A snapshot of " + owner.name + " while it runs, and its restore into a new repository")
	path := filepath.Join(t.opts.Dir, node.SnapshotName(time.Now()))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("demo: snapshot: %w", err)
	}
	sum, err := owner.node.Snapshot(ctx, f, node.SnapshotOptions{})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("demo: snapshot: %w", err)
	}
	t.say("   %s: index, ledger, tombstones, roster, event log up to cursor %s, config;", filepath.Base(path), sum.Header.Cursor)
	t.say("   %d files, %s, keys sealed under the owner key (`cairn snapshot -o DIR/`).", sum.Files, sizeText(int(sum.Bytes)))
	in, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("demo: restore: %w", err)
	}
	defer in.Close()
	ownerKey, err := owner.repo.Owner(nil)
	if err != nil {
		return err
	}
	target := filepath.Join(t.opts.Dir, owner.name+"-restored")
	if _, err := snapshot.Restore(ctx, in, target, func(snapshot.Header, []byte) (*keys.Owner, error) { return ownerKey, nil }); err != nil {
		return fmt.Errorf("demo: restore: %w", err)
	}
	t.say("   Restored into %s, every entry checked against the manifest (`cairn restore`);", target)
	t.say("   started there, it is %s again and catches up with what the federation did since.", owner.name)
	t.say("   `cairn mirror --to DIR` (or s3://BUCKET/PREFIX) keeps a copy of every object on your own storage.")
	return nil
}
