package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/node"
)

// Adding a local file by handing the daemon the open file.
//
// When the CLI and the daemon share a machine, streaming a file through
// the API copies every byte twice more (the CLI reads and sends it, the
// daemon receives it): a quarter of the CPU of a 1 GiB add. So the daemon
// also serves the API on a Unix socket in its repository (owner-only, as
// the repository is), and there a client may pass the open file itself
// (SCM_RIGHTS) as the first byte of a connection, ahead of its add
// request. The daemon reads the file through that descriptor, with the
// access the client had when it opened it: it never opens a path a
// request names, so the API token grants no reading of files the client
// could not read itself. Every request on the socket still needs the
// token.

// fdMarker is the first byte of a connection that carries a file
// descriptor; no HTTP request starts with NUL.
const fdMarker = 0

// ServeLocal answers requests on the Unix socket l, as Serve does on TCP,
// and takes a file passed ahead of a request.
func (s *Server) ServeLocal(l *net.UnixListener) error {
	if err := s.srv.Serve(fdListener{l}); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api: serve %s: %w", l.Addr(), err)
	}
	return nil
}

// fdListener hands out connections that may carry a file.
type fdListener struct{ *net.UnixListener }

func (l fdListener) Accept() (net.Conn, error) {
	c, err := l.AcceptUnix()
	if err != nil {
		return nil, err
	}
	return &fdConn{UnixConn: c}, nil
}

// fdConn is a connection on the Unix socket. Its first read looks for a
// passed file; any other first byte is handed on to HTTP.
type fdConn struct {
	*net.UnixConn
	once  sync.Once
	first []byte // the first byte, when it was not the marker
	err   error  // of the first read

	mu     sync.Mutex
	file   *os.File // passed ahead of the request, until the handler takes it
	closed bool     // a file received after Close is closed at once
}

func (c *fdConn) Read(p []byte) (int, error) {
	c.once.Do(c.receive)
	if len(c.first) > 0 {
		n := copy(p, c.first)
		c.first = c.first[n:]
		return n, nil
	}
	if c.err != nil {
		return 0, c.err
	}
	return c.UnixConn.Read(p)
}

// receive reads the first byte with room for one descriptor. Descriptors
// beyond one, or without the marker, are closed.
func (c *fdConn) receive() {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		c.err = err
		return
	}
	var fds []int
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for i := range msgs {
			if got, err := unix.ParseUnixRights(&msgs[i]); err == nil {
				fds = append(fds, got...)
			}
		}
	}
	if n == 1 && buf[0] == fdMarker && len(fds) > 0 {
		c.mu.Lock()
		if !c.closed {
			c.file = os.NewFile(uintptr(fds[0]), "file passed by the client")
			fds = fds[1:]
		}
		c.mu.Unlock()
	} else {
		c.first = buf[:n]
	}
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// take returns the passed file, once; nil if none came.
func (c *fdConn) take() *os.File {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.file
	c.file = nil
	return f
}

func (c *fdConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	if f := c.take(); f != nil {
		f.Close()
	}
	return c.UnixConn.Close()
}

// connKey carries a request's connection in its context.
type connKey struct{}

// withConn is the server's ConnContext: it lets handlers reach a file
// passed on the connection.
func withConn(ctx context.Context, c net.Conn) context.Context {
	if fc, ok := c.(*fdConn); ok {
		return context.WithValue(ctx, connKey{}, fc)
	}
	return ctx
}

// errNoPassedFile: an add asked to read a passed file and none came.
var errNoPassedFile = errors.New("api: the add asks for a file passed on the connection, and none was: pass one (SCM_RIGHTS) on the Unix socket, or send the contents")

// passedFileSource makes the source of an add from the file passed ahead
// of r: one regular file, named name in the object, with its permission
// bits, read to the size it had when the add started, as a streamed add
// of the same file would be (the two give the same object).
func passedFileSource(r *http.Request, name string) (object.Source, error) {
	fc, _ := r.Context().Value(connKey{}).(*fdConn)
	if fc == nil {
		return nil, errNoPassedFile
	}
	f := fc.take()
	if f == nil {
		return nil, errNoPassedFile
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("api: the passed file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("api: the passed file is a %s, not a regular file", fi.Mode().Type())
	}
	if err := object.ValidatePath(name); err != nil {
		f.Close()
		return nil, fmt.Errorf("api: entry name: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil { // the client's offset is shared, and may not be 0
		f.Close()
		return nil, fmt.Errorf("api: the passed file cannot be read from its start: %w", err)
	}
	e := object.Entry{Path: name, Kind: object.KindFile, Mode: fi.Mode().Perm(), Size: fi.Size()}
	return &passedFile{f: f, entry: e, r: &sizedReader{r: io.LimitReader(f, fi.Size()), want: fi.Size()}}, nil
}

// passedFile is the source of an add of a passed file.
type passedFile struct {
	f     *os.File
	entry object.Entry
	r     io.Reader
	done  bool
}

func (p *passedFile) Next() (object.Entry, io.Reader, error) {
	if p.done {
		return object.Entry{}, nil, io.EOF
	}
	p.done = true
	return p.entry, p.r, nil
}

func (p *passedFile) Close() error { return p.f.Close() }

// sizedReader fails at the end of r if it did not give want bytes: the
// file shrank while it was read.
type sizedReader struct {
	r         io.Reader
	got, want int64
}

func (s *sizedReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.got += int64(n)
	if err == io.EOF && s.got != s.want {
		return n, fmt.Errorf("api: the passed file changed while it was read: %d bytes of %d", s.got, s.want)
	}
	return n, err
}

// ErrNoSocket: the daemon serves no Unix socket this client can reach (it
// runs elsewhere, or its repository's path is too long for one); stream
// the file instead.
var ErrNoSocket = errors.New("api: the daemon's socket cannot be reached")

// AddPassedFile adds the open regular file f through the daemon's Unix
// socket, passing the file itself: the daemon reads it, nothing is
// streamed. entry is the file's name in the object (its base name). The
// daemon reads f from its current offset, which f shares: f's offset is
// the add's progress.
func (c *Client) AddPassedFile(ctx context.Context, f *os.File, entry string, opts node.AddOptions) (node.AddResult, error) {
	if c.socket == "" {
		return node.AddResult{}, ErrNoSocket
	}
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: c.socket, Net: "unix"})
	if err != nil {
		return node.AddResult{}, fmt.Errorf("%w: %w", ErrNoSocket, err)
	}
	if _, _, err := conn.WriteMsgUnix([]byte{fdMarker}, unix.UnixRights(int(f.Fd())), nil); err != nil {
		conn.Close()
		return node.AddResult{}, fmt.Errorf("api: pass the file: %w", err)
	}
	var used sync.Once
	oneShot := &http.Transport{DisableKeepAlives: true, DialContext: func(context.Context, string, string) (net.Conn, error) {
		var c net.Conn
		used.Do(func() { c = conn })
		if c == nil {
			return nil, errors.New("api: the connection that carried the file is used up")
		}
		return c, nil
	}}
	defer oneShot.CloseIdleConnections()
	defer used.Do(func() { conn.Close() }) // never dialled (a cancelled context): close it here
	local := *c
	local.http = &http.Client{Transport: oneShot}
	q := addQuery(opts)
	q.Set("passed", "true")
	q.Set("entry", entry)
	return local.addRequest(ctx, http.NoBody, ContentFile, q)
}
