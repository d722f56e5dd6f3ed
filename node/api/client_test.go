package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/api"
	"github.com/cairn-fed/cairn/node/blockstore"
)

// refusingBackend refuses every add after reading its first MiB, as a
// daemon whose disk fills up does.
type refusingBackend struct {
	api.Backend
}

func (refusingBackend) Add(_ context.Context, src object.Source, _ node.AddOptions) (node.AddResult, error) {
	_, r, err := src.Next()
	if err != nil {
		return node.AddResult{}, err
	}
	if _, err := io.CopyN(io.Discard, r, 1<<20); err != nil {
		return node.AddResult{}, err
	}
	return node.AddResult{}, fmt.Errorf("add: %w", blockstore.ErrNoSpace)
}

// Status knows no object, as on a new machine.
func (refusingBackend) Status(_ context.Context, id string) (netstat.ObjectView, error) {
	return netstat.ObjectView{}, fmt.Errorf("%w: %s", node.ErrNotFound, id)
}

// serve answers the API with b on a loopback port.
func serve(t *testing.T, b api.Backend) *api.Client {
	t.Helper()
	srv := api.NewServer(b, testToken, slog.New(slog.DiscardHandler))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return api.NewClient(l.Addr().String(), testToken)
}

// zeros is an add body far larger than what the refusing daemon reads.
func zeros() io.Reader { return io.LimitReader(zeroReader{}, 256<<20) }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// checkNoURL fails when an error shows the API's internals to the user.
func checkNoURL(t *testing.T, what string, err error) {
	t.Helper()
	for _, internal := range []string{"http://", "/api/v1", "127.0.0.1"} {
		if strings.Contains(err.Error(), internal) {
			t.Errorf("%s: %q shows %q; the user needs the daemon's message, not the API's address", what, err, internal)
		}
	}
}

// TestAddRefusedMidStreamGivesTheDaemonsMessage: an add the daemon
// refuses after reading part of it reports the daemon's reason.
func TestAddRefusedMidStreamGivesTheDaemonsMessage(t *testing.T) {
	c := serve(t, refusingBackend{})
	_, err := c.Add(context.Background(), zeros(), api.ContentFile, node.AddOptions{Name: "big"})
	if err == nil {
		t.Fatal("add: no error from a daemon that refused it")
	}
	checkNoURL(t, "refused add", err)
	var se *api.StatusError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "out of disk space") {
		t.Errorf("refused add: %v, want the daemon's answer (out of disk space)", err)
	}
}

// TestDaemonGoneIsSaidPlainly: a daemon that dies during a request, or
// one that no longer listens, is reported without the API's URL, with
// what to do next.
func TestDaemonGoneIsSaidPlainly(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { // reads a little of each request, then dies as a killed daemon does
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			io.CopyN(io.Discard, conn, 64<<10)
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
	}()
	c := api.NewClient(l.Addr().String(), testToken)
	_, err = c.Add(context.Background(), zeros(), api.ContentFile, node.AddOptions{Name: "big"})
	if !errors.Is(err, api.ErrDaemonGone) || !strings.Contains(err.Error(), "cairn daemon") {
		t.Errorf("add to a daemon that died: %v, want ErrDaemonGone saying how to start it", err)
	}
	checkNoURL(t, "daemon died", err)

	l.Close()
	_, err = c.List(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cairn daemon") {
		t.Errorf("ls with no daemon listening: %v, want an error saying how to start it", err)
	}
	checkNoURL(t, "no daemon", err)
}

// TestCancelledRequestStaysCancelled: the caller's own cancellation is
// not reported as a daemon failure.
func TestCancelledRequestStaysCancelled(t *testing.T) {
	c := serve(t, refusingBackend{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.List(ctx); !errors.Is(err, context.Canceled) || errors.Is(err, api.ErrDaemonGone) {
		t.Errorf("cancelled ls: %v, want context.Canceled", err)
	}
}

// TestStatusOfAnUnknownObjectSaysWhereToLook: `cairn status CID` on a
// node that never heard of the object says how to list what it knows
// and how to fetch an object, not just "not found".
func TestStatusOfAnUnknownObjectSaysWhereToLook(t *testing.T) {
	c := serve(t, refusingBackend{})
	_, err := c.Status(context.Background(), "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi")
	var se *api.StatusError
	if !errors.As(err, &se) || se.Code != 404 {
		t.Fatalf("status of an unknown object: %v, want a 404 from the daemon", err)
	}
	for _, want := range []string{"knows of no object", "cairn status", "cairn get CAPABILITY"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("status of an unknown object: %q does not say %q", err, want)
		}
	}
}
