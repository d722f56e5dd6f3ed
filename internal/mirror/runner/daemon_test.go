package runner_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/cairn-fed/cairn/internal/mirror"
	"github.com/cairn-fed/cairn/internal/mirror/runner"
	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/api"
	"github.com/cairn-fed/cairn/node/status"
)

// streamCall is one answer of fakeAPI.Events: the events it sends and
// how the stream ends.
type streamCall struct {
	events []netstat.Event
	end    api.StreamEnd
	err    error
}

// fakeAPI is the daemon's API in memory; Events answers from calls in
// turn, recording each since it was asked with.
type fakeAPI struct {
	catchingUp bool
	objs       []node.ObjectInfo
	states     []status.Object
	calls      []streamCall
	since      []string
	opened     []string
}

func (f *fakeAPI) ID(context.Context) (node.Identity, error) {
	return node.Identity{PeerID: "12D3node"}, nil
}

func (f *fakeAPI) Catalog(context.Context) (node.CatalogInfo, error) {
	return node.CatalogInfo{CatchingUp: f.catchingUp}, nil
}

func (f *fakeAPI) List(context.Context) ([]node.ObjectInfo, error) { return f.objs, nil }

func (f *fakeAPI) StatusAll(context.Context) (node.StatusOverview, error) {
	return node.StatusOverview{Objects: f.states}, nil
}

func (f *fakeAPI) Events(_ context.Context, since string, _ bool, each func(netstat.Event) error) (api.StreamEnd, error) {
	f.since = append(f.since, since)
	c := f.calls[0]
	f.calls = f.calls[1:]
	for _, ev := range c.events {
		if err := each(ev); err != nil {
			return api.StreamEnd{}, err
		}
	}
	return c.end, c.err
}

var errOpened = errors.New("fake: opened")

func (f *fakeAPI) Export(_ context.Context, object string) (io.ReadCloser, error) {
	f.opened = append(f.opened, "export "+object)
	return nil, errOpened
}

func (f *fakeAPI) Get(_ context.Context, capability string) (*api.Stream, error) {
	f.opened = append(f.opened, "get "+capability)
	return nil, errOpened
}

func owned(id string) node.ObjectInfo {
	return node.ObjectInfo{ObjectRecord: node.ObjectRecord{ID: id, Role: node.RoleOwner, Size: 5}, Name: "n-" + id, Capability: "cap-" + id}
}

// TestLiveObjects: the mirror copies the owner's objects only: not those
// held for others, not catalog versions, not those being deleted or
// deleted, and not one whose ID is not a CID (reported instead).
func TestLiveObjects(t *testing.T) {
	held := owned(id("held"))
	held.Role = node.RoleHolder
	cat := owned(id("catalog"))
	cat.Catalog = true
	objs := []node.ObjectInfo{owned(id("a")), held, cat, owned(id("deleting")), owned(id("deleted")), owned("../x"), owned(id("b"))}
	states := []status.Object{
		{CID: id("a"), State: netstat.StateBackedUp},
		{CID: id("deleting"), State: netstat.StateDeleting},
		{CID: id("deleted"), State: netstat.StateDeleted},
	}
	live, invalid := runner.LiveObjects(objs, states)
	want := []mirror.Object{
		{CID: id("a"), Name: "n-" + id("a"), Capability: "cap-" + id("a"), Size: 5},
		{CID: id("b"), Name: "n-" + id("b"), Capability: "cap-" + id("b"), Size: 5},
	}
	if !reflect.DeepEqual(live, want) {
		t.Errorf("live %+v, want %+v", live, want)
	}
	if !reflect.DeepEqual(invalid, []string{"../x"}) {
		t.Errorf("invalid %v, want [../x]", invalid)
	}
	d := runner.Daemon{API: &fakeAPI{objs: objs, states: states}, Logger: slog.New(slog.DiscardHandler)}
	if got, err := d.Live(context.Background()); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Daemon.Live = %+v, %v", got, err)
	}
}

func evs(seqs ...uint64) []netstat.Event {
	var out []netstat.Event
	for _, s := range seqs {
		out = append(out, netstat.Event{Seq: s, Type: netstat.EventObjectAdded})
	}
	return out
}

func cursor(seq uint64) string { return netstat.CursorAt(seq).String() }

// TestDaemonEvents: the stream resumes by itself where the daemon cut a
// slow reader off, a cursor the daemon refuses is ErrCursor, a stream
// the daemon ends otherwise is an error saying so, and an error of the
// callback stops the reading at the last event it took.
func TestDaemonEvents(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		calls     []streamCall
		want      string
		wantErr   error
		errSays   string
		wantSince []string
		stopAt    uint64 // the callback fails at this event
	}{
		{name: "caught up", calls: []streamCall{{events: evs(1, 2), end: api.StreamEnd{End: api.EndCaughtUp, Resume: cursor(2)}}},
			want: cursor(2), wantSince: []string{""}},
		{name: "too slow resumes", calls: []streamCall{
			{events: evs(1, 2), end: api.StreamEnd{End: api.EndTooSlow, Resume: cursor(2)}},
			{events: evs(3), end: api.StreamEnd{End: api.EndCaughtUp, Resume: cursor(3)}},
		}, want: cursor(3), wantSince: []string{"", cursor(2)}},
		{name: "gone", calls: []streamCall{{err: &api.StatusError{Code: http.StatusGone, Message: "trimmed"}}},
			want: "", wantErr: runner.ErrCursor, wantSince: []string{""}},
		{name: "bad cursor", calls: []streamCall{{err: &api.StatusError{Code: http.StatusBadRequest, Message: "no"}}},
			want: "", wantErr: runner.ErrCursor, wantSince: []string{""}},
		{name: "shutting down", calls: []streamCall{{events: evs(1), end: api.StreamEnd{End: api.EndShuttingDown, Error: "the node is stopping"}}},
			want: cursor(1), errSays: "the node is stopping", wantSince: []string{""}},
		{name: "callback stops", calls: []streamCall{{events: evs(1, 2, 3), end: api.StreamEnd{End: api.EndCaughtUp, Resume: cursor(3)}}},
			want: cursor(1), errSays: "stop", stopAt: 2, wantSince: []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAPI{calls: tc.calls}
			got, err := runner.Daemon{API: f}.Events(ctx, "", false, func(ev netstat.Event) error {
				if ev.Seq == tc.stopAt {
					return errors.New("stop")
				}
				return nil
			})
			switch {
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("err %v, want %v", err, tc.wantErr)
			case tc.errSays != "" && (err == nil || !strings.Contains(err.Error(), tc.errSays)):
				t.Errorf("err %v, want one saying %q", err, tc.errSays)
			case tc.wantErr == nil && tc.errSays == "" && err != nil:
				t.Errorf("err %v", err)
			}
			if got != tc.want {
				t.Errorf("cursor %q, want %q", got, tc.want)
			}
			if !reflect.DeepEqual(f.since, tc.wantSince) {
				t.Errorf("asked since %q, want %q", f.since, tc.wantSince)
			}
		})
	}
}

// TestDaemonOpen: a CAR is the object's export; a decrypted copy is a
// get of its capability, and without one an error saying what to do.
func TestDaemonOpen(t *testing.T) {
	ctx := context.Background()
	f := &fakeAPI{}
	d := runner.Daemon{API: f}
	o := mirror.Object{CID: id("a"), Capability: "cap"}
	if _, err := d.Open(ctx, o, mirror.FormatCAR); !errors.Is(err, errOpened) {
		t.Fatalf("Open car: %v", err)
	}
	if r, err := d.Open(ctx, o, mirror.FormatDecrypted); !errors.Is(err, errOpened) || r != nil {
		t.Fatalf("Open tar: %v, %v (a failed get must give a nil reader)", r, err)
	}
	if want := []string{"export " + id("a"), "get cap"}; !reflect.DeepEqual(f.opened, want) {
		t.Fatalf("opened %v, want %v", f.opened, want)
	}
	o.Capability = ""
	if _, err := d.Open(ctx, o, mirror.FormatDecrypted); err == nil || !strings.Contains(err.Error(), "without --decrypt") {
		t.Fatalf("Open tar without a capability: %v", err)
	}
}

func TestDaemonCatchingUp(t *testing.T) {
	for _, want := range []bool{false, true} {
		if got, err := (runner.Daemon{API: &fakeAPI{catchingUp: want}}).CatchingUp(context.Background()); err != nil || got != want {
			t.Errorf("CatchingUp = %v, %v, want %v", got, err, want)
		}
	}
}
