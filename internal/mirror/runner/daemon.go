package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/cairn-fed/cairn/internal/mirror"
	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/api"
	"github.com/cairn-fed/cairn/node/status"
)

// API is the part of the daemon's API client the mirror uses.
type API interface {
	ID(ctx context.Context) (node.Identity, error)
	List(ctx context.Context) ([]node.ObjectInfo, error)
	StatusAll(ctx context.Context) (node.StatusOverview, error)
	Events(ctx context.Context, since string, follow bool, each func(netstat.Event) error) (api.StreamEnd, error)
	Export(ctx context.Context, object string) (io.ReadCloser, error)
	Get(ctx context.Context, capability string) (*api.Stream, error)
	Catalog(ctx context.Context) (node.CatalogInfo, error)
}

var (
	_ API    = (*api.Client)(nil)
	_ Source = Daemon{}
)

// Daemon is the Source a running daemon is, through its API.
type Daemon struct {
	API    API
	Logger *slog.Logger // told of objects left out of the listing; may be nil
}

// NodeID is the daemon's peer ID.
func (d Daemon) NodeID(ctx context.Context) (string, error) {
	id, err := d.API.ID(ctx)
	return id.PeerID, err
}

// CatchingUp asks the daemon whether it is a node restored from a
// snapshot that has not caught up with the federation yet.
func (d Daemon) CatchingUp(ctx context.Context) (bool, error) {
	info, err := d.API.Catalog(ctx)
	return info.CatchingUp, err
}

// Live lists the owner's live objects (see LiveObjects).
func (d Daemon) Live(ctx context.Context) ([]mirror.Object, error) {
	objs, err := d.API.List(ctx)
	if err != nil {
		return nil, err
	}
	ov, err := d.API.StatusAll(ctx)
	if err != nil {
		return nil, err
	}
	live, invalid := LiveObjects(objs, ov.Objects)
	for _, id := range invalid {
		if d.Logger == nil {
			break
		}
		d.Logger.Warn("the daemon lists an object whose ID is not a CID; the mirror leaves it out", "cid", id)
	}
	return live, nil
}

// LiveObjects picks from the daemon's listing the objects a mirror
// copies: the owner's (not those this node holds for others), not a
// version of the owner's catalog (the node's own bookkeeping), and not
// one a tombstone deletes (its status deleting or deleted). An ID that is
// not a valid CID is left out and returned in invalid: it cannot name a
// key.
func LiveObjects(objs []node.ObjectInfo, states []status.Object) (live []mirror.Object, invalid []string) {
	deleted := map[string]bool{}
	for _, o := range states {
		if o.State == netstat.StateDeleting || o.State == netstat.StateDeleted {
			deleted[o.CID] = true
		}
	}
	for _, o := range objs {
		switch {
		case o.Role != node.RoleOwner || o.Catalog || deleted[o.ID]:
		case !mirror.ValidCID(o.ID):
			invalid = append(invalid, o.ID)
		default:
			live = append(live, mirror.Object{CID: o.ID, Name: o.Name, Capability: o.Capability, Size: o.Size})
		}
	}
	return live, invalid
}

// Events reads the stream, resuming by itself where the daemon cut it off
// for reading too slowly. A cursor the daemon refuses (410 Gone: trimmed
// past; 400: not one of its cursors) is ErrCursor.
func (d Daemon) Events(ctx context.Context, since string, follow bool, each func(netstat.Event) error) (string, error) {
	cur := since
	for {
		end, err := d.API.Events(ctx, cur, follow, func(ev netstat.Event) error {
			if err := each(ev); err != nil {
				return err
			}
			cur = ev.Cursor().String()
			return nil
		})
		var se *api.StatusError
		switch {
		case errors.As(err, &se) && (se.Code == http.StatusGone || se.Code == http.StatusBadRequest):
			return cur, fmt.Errorf("%w: %w", ErrCursor, err)
		case err != nil:
			return cur, err
		case end.End == api.EndTooSlow:
			if end.Resume != "" {
				cur = end.Resume
			}
		case end.End == api.EndCaughtUp:
			return end.Resume, nil
		default:
			return cur, fmt.Errorf("the daemon ended the event stream (%s: %s); the mirror starts again from its cursor once the daemon is back", end.End, end.Error)
		}
	}
}

// Open streams an object: its CAR bundle, or the tar of its decrypted
// files, which needs the capability the listing gives.
func (d Daemon) Open(ctx context.Context, o mirror.Object, f mirror.Format) (io.ReadCloser, error) {
	if f == mirror.FormatCAR {
		return d.API.Export(ctx, o.CID)
	}
	if o.Capability == "" {
		return nil, fmt.Errorf("the daemon lists no capability for %s, so it cannot be decrypted; mirror without --decrypt to keep its ciphertext", o.CID)
	}
	s, err := d.API.Get(ctx, o.Capability)
	if err != nil {
		return nil, err
	}
	return s, nil
}
