package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
)

// drill shows a restore drill: the owner reads its objects back from the
// other members only, as a restore on a new machine would.
func (t *tour) drill(ctx context.Context) error {
	owner := t.members[0]
	t.heading("A restore drill: " + owner.name + " reads its data back from the others, never from its own disk")
	if _, err := t.waitStatus(ctx, "a verified copy on another member", func(v netstat.ObjectView) bool { return v.SafeOffline }); err != nil {
		return err
	}
	d, err := owner.node.Verify(ctx, node.DrillRequest{All: true})
	if err != nil {
		return fmt.Errorf("demo: restore drill: %w", err)
	}
	for _, o := range d.Objects {
		if o.Error != "" {
			return fmt.Errorf("demo: restore drill of %s: %s", o.CID, o.Error)
		}
		t.say("   %s: %s read back, every block checked and every chunk decrypted, from %s in %s.",
			shortID(o.CID), sizeText(int(o.Bytes)), strings.Join(o.From, ", "), o.Took.Round(time.Millisecond))
	}
	t.say("   Every node does this daily with a sample of its owner's objects (`cairn verify` runs one now);")
	t.say("   an object that does not read back is shown at risk, with the reason.")
	return nil
}
