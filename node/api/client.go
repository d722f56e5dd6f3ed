package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"

	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/repo"
)

// ErrUnauthorized means the daemon refused the token.
var ErrUnauthorized = errors.New("api: unauthorized")

// ErrDaemonGone means the connection to the daemon broke before it
// answered: it stopped, crashed or was killed during the request.
var ErrDaemonGone = errors.New("api: the daemon closed the connection before it answered")

// Client talks to a running daemon's API.
type Client struct {
	base       string
	token      string
	http       *http.Client
	notRunning error  // returned when the daemon cannot be reached
	socket     string // the daemon's Unix socket (localfile.go); "" when not known
}

// NewClient makes a client for the API at addr (host:port).
func NewClient(addr, token string) *Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = maxConnections // `cairn add --each` sends many requests at once
	return &Client{base: "http://" + addr, token: token, http: &http.Client{Transport: t}}
}

// maxConnections is how many connections to the daemon a client keeps
// open for reuse.
const maxConnections = 16

// Dial finds the daemon of a repository through its api file and token.
func Dial(r *repo.Repo) (*Client, error) {
	addr, err := r.APIAddr()
	if err != nil {
		return nil, err
	}
	token, err := r.Token()
	if err != nil {
		return nil, err
	}
	c := NewClient(addr, token)
	c.notRunning = r.NotRunning()
	c.socket = r.Path(repo.SocketFile)
	return c, nil
}

// ID asks for the node's peer ID and addresses.
func (c *Client) ID(ctx context.Context) (node.Identity, error) {
	var id node.Identity
	return id, c.call(ctx, http.MethodGet, "/api/v1/id", nil, &id)
}

// Peers lists connected peers.
func (c *Client) Peers(ctx context.Context) ([]node.Peer, error) {
	var ps []node.Peer
	return ps, c.call(ctx, http.MethodGet, "/api/v1/peers", nil, &ps)
}

// Connect asks the node to dial a peer.
func (c *Client) Connect(ctx context.Context, addr string) error {
	return c.call(ctx, http.MethodPost, "/api/v1/connect", connectRequest{Addr: addr}, nil)
}

// List returns the node's objects.
func (c *Client) List(ctx context.Context) ([]node.ObjectInfo, error) {
	var objs []node.ObjectInfo
	return objs, c.call(ctx, http.MethodGet, "/api/v1/ls", nil, &objs)
}

// Add streams body (a tar of a directory, or one file's bytes) to the node.
func (c *Client) Add(ctx context.Context, body io.Reader, contentType string, opts node.AddOptions) (node.AddResult, error) {
	return c.addRequest(ctx, body, contentType, addQuery(opts))
}

// addQuery is the query of an add with opts.
func addQuery(opts node.AddOptions) url.Values {
	q := storeQuery(opts.Name, opts.Replicas)
	q.Set("unencrypted", strconv.FormatBool(opts.Unencrypted))
	q.Set("new", strconv.FormatBool(opts.New))
	return q
}

func (c *Client) addRequest(ctx context.Context, body io.Reader, contentType string, q url.Values) (node.AddResult, error) {
	req, err := c.request(ctx, http.MethodPost, "/api/v1/add?"+q.Encode(), body)
	if err != nil {
		return node.AddResult{}, err
	}
	req.Header.Set("Content-Type", contentType)
	var res node.AddResult
	return res, c.do(req, &res)
}

// Verify runs a restore drill on the daemon and returns its outcome.
func (c *Client) Verify(ctx context.Context, req node.DrillRequest) (node.Drill, error) {
	var d node.Drill
	return d, c.call(ctx, http.MethodPost, "/api/v1/verify", req, &d)
}

// Get opens the tar stream of the object a capability names. Reading it to
// the end returns the daemon's error if the stream broke off.
func (c *Client) Get(ctx context.Context, capability string) (*Stream, error) {
	return c.get(ctx, getRequest{Capability: capability})
}

// GetContents streams the contents of an object that is a single file.
func (c *Client) GetContents(ctx context.Context, capability string) (*Stream, error) {
	return c.get(ctx, getRequest{Capability: capability, Contents: true})
}

func (c *Client) get(ctx context.Context, r getRequest) (*Stream, error) {
	resp, err := c.postStream(ctx, "/api/v1/get", r)
	if err != nil {
		return nil, err
	}
	size, err := strconv.ParseInt(resp.Header.Get(sizeHeader), 10, 64)
	if err != nil {
		size = 0 // an older daemon: the size is not known
	}
	return &Stream{resp: resp, ContentSize: size}, nil
}

// Stream is an object coming from the daemon. An error the daemon reports
// after the last byte (in a trailer) is a read error at the end.
type Stream struct {
	resp *http.Response
	// ContentSize is the bytes of file contents the stream holds (a tar
	// stream is a little larger); 0 when not known.
	ContentSize int64
}

func (t *Stream) Read(p []byte) (int, error) {
	n, err := t.resp.Body.Read(p)
	if err == io.EOF {
		if msg := t.resp.Trailer.Get(errorTrailer); msg != "" {
			return n, fmt.Errorf("daemon: %s", msg)
		}
	}
	return n, err
}

func (t *Stream) Close() error { return t.resp.Body.Close() }

func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := c.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	return c.do(req, out)
}

// postStream posts in as JSON and returns the answer, whose body the
// caller reads and closes: for answers that stream.
func (c *Client) postStream(ctx context.Context, path string, in any) (*http.Response, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("api: encode request: %w", err)
	}
	req, err := c.request(ctx, http.MethodPost, path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	return c.send(req)
}

func (c *Client) request(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("api: build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	return req, nil
}

func (c *Client) do(req *http.Request, out any) error {
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("api: the daemon's answer cannot be read (%w); is the daemon the same version of cairn as this command?", err)
	}
	return nil
}

// send performs a request and turns every failure into a plain error.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	var eb errorBody
	json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&eb)
	if eb.Error == "" {
		eb.Error = resp.Status
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, fmt.Errorf("%w: %s", ErrUnauthorized, eb.Error)
	}
	return nil, &StatusError{Code: resp.StatusCode, Message: eb.Error}
}

// transportError says what a request that got no answer means for the
// user, without the API's URL: that is an internal detail, and the
// user's next step is to look at the daemon, not at the address.
func (c *Client) transportError(err error) error {
	if errors.Is(err, syscall.ECONNREFUSED) && c.notRunning != nil {
		return c.notRunning
	}
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		err = ue.Err // Post "http://127.0.0.1:PORT/api/v1/...": the cause
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if oe := (*net.OpError)(nil); errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err // "write tcp 127.0.0.1:A->127.0.0.1:B: ": addresses again
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("api: no daemon answers (%w); start it with `cairn daemon`", err)
	}
	return fmt.Errorf("%w (%w); it may have stopped: its log says why, and `cairn daemon` starts it again", ErrDaemonGone, err)
}

// StatusError is an error the daemon answered with.
type StatusError struct {
	Code    int
	Message string
}

func (e *StatusError) Error() string { return e.Message }

// storeQuery carries the name and replicas of an add or an import.
func storeQuery(name string, replicas int) url.Values {
	q := url.Values{}
	q.Set("name", name)
	if replicas > 0 {
		q.Set("replicas", strconv.Itoa(replicas))
	}
	return q
}
