package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairn-fed/cairn/internal/archive"
	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/node"
)

const localToken = "0123456789abcdef0123456789abcdef"

// recordingBackend keeps the entry and contents of each add.
type recordingBackend struct {
	Backend
	mu      sync.Mutex
	entries []object.Entry
	data    [][]byte
	before  func() // runs before the contents are read
}

func (b *recordingBackend) Add(_ context.Context, src object.Source, opts node.AddOptions) (node.AddResult, error) {
	e, r, err := src.Next()
	if err != nil {
		return node.AddResult{}, err
	}
	if b.before != nil {
		b.before()
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return node.AddResult{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.entries = append(b.entries, e)
	b.data = append(b.data, data)
	return node.AddResult{Name: opts.Name, Size: int64(len(data))}, nil
}

// serveBoth serves b on loopback TCP and on a Unix socket, and returns a
// client that knows both.
func serveBoth(t *testing.T, b Backend) *Client {
	t.Helper()
	srv := NewServer(b, localToken, slog.New(slog.DiscardHandler))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "sock") // short: a socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "api.sock")
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	go srv.ServeLocal(ul)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	c := NewClient(l.Addr().String(), localToken)
	c.socket = sock
	return c
}

// TestPassedFileIsTheStreamedFile: a file passed on the socket reaches the
// add as the entry a streamed add of the same file makes (name,
// permission bits, contents), so the two give the same object.
func TestPassedFileIsTheStreamedFile(t *testing.T) {
	b := &recordingBackend{}
	c := serveBoth(t, b)
	path := filepath.Join(t.TempDir(), "report.pdf")
	content := bytes.Repeat([]byte("passed, not streamed "), 50000)
	if err := os.WriteFile(path, content, 0o640); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := c.AddPassedFile(context.Background(), f, "report.pdf", node.AddOptions{Name: "my report"}); err != nil {
		t.Fatal(err)
	}
	if off, _ := f.Seek(0, io.SeekCurrent); off != int64(len(content)) {
		t.Errorf("the client's offset is %d after the add, want %d: the CLI's progress follows it", off, len(content))
	}

	var tarred bytes.Buffer
	if err := archive.WriteTree(&tarred, path); err != nil {
		t.Fatal(err)
	}
	want, r, err := object.NewTarSource(&tarred).Next()
	if err != nil {
		t.Fatal(err)
	}
	wantData, _ := io.ReadAll(r)
	if len(b.entries) != 1 || !reflect.DeepEqual(b.entries[0], want) || !bytes.Equal(b.data[0], wantData) {
		t.Fatalf("passed: %+v (%d bytes); streamed: %+v (%d bytes)", b.entries, len(b.data), want, len(wantData))
	}
}

// TestPassedFileHostile: what a client can do with the socket is add a
// file it opened, nothing more. A descriptor that is not a regular file
// (a pipe the daemon would wait on forever), an add that says a file was
// passed when none was (on TCP, or on the socket), a request without the
// token, and a file that shrinks while it is read are each refused with
// a clear error.
func TestPassedFileHostile(t *testing.T) {
	b := &recordingBackend{}
	c := serveBoth(t, b)
	ctx := context.Background()

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	_, err = c.AddPassedFile(ctx, pr, "pipe", node.AddOptions{})
	if !isStatus(err, http.StatusBadRequest, "not a regular file") {
		t.Errorf("a pipe passed: %v", err)
	}

	q := addQuery(node.AddOptions{})
	q.Set("passed", "true")
	q.Set("entry", "x")
	if _, err := c.addRequest(ctx, http.NoBody, ContentFile, q); !isStatus(err, http.StatusBadRequest, "none was") {
		t.Errorf("passed=true over TCP: %v", err)
	}
	local := socketClient(t, c, nil)
	if _, err := local.addRequest(ctx, http.NoBody, ContentFile, q); !isStatus(err, http.StatusBadRequest, "none was") {
		t.Errorf("passed=true on the socket with no file: %v", err)
	}
	noToken := socketClient(t, c, nil)
	noToken.token = "wrong"
	if _, err := noToken.addRequest(ctx, strings.NewReader("x"), ContentFile, addQuery(node.AddOptions{Name: "x"})); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("a request on the socket with a wrong token: %v", err)
	}

	path := filepath.Join(t.TempDir(), "shrinks")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	b.before = func() { os.Truncate(path, 1000) }
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := c.AddPassedFile(ctx, f, "shrinks", node.AddOptions{}); err == nil || !strings.Contains(err.Error(), "changed while it was read") {
		t.Errorf("a file that shrank while it was read: %v", err)
	}
	if len(b.entries) != 0 {
		t.Errorf("%d adds went through; want none", len(b.entries))
	}
}

// socketClient is c on a fresh connection to its socket, which first
// sends the marker byte with fds passed, if any.
func socketClient(t *testing.T, c *Client, fds []int) *Client {
	t.Helper()
	local := *c
	local.http = &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DialContext: func(context.Context, string, string) (net.Conn, error) {
		conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: c.socket, Net: "unix"})
		if err != nil || fds == nil {
			return conn, err
		}
		_, _, err = conn.WriteMsgUnix([]byte{fdMarker}, unix.UnixRights(fds...), nil)
		return conn, err
	}}}
	return &local
}

// isStatus reports whether err is a StatusError with code whose message
// says what.
func isStatus(err error, code int, what string) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == code && strings.Contains(se.Message, what)
}
