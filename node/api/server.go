// Package api is the node's local HTTP API: the server the daemon runs on
// loopback, guarded by the repository's token, and the client the CLI uses.
package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/cairn-fed/cairn/internal/keys"
	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/blockstore"
	"github.com/cairn-fed/cairn/node/dashboard"
	"github.com/cairn-fed/cairn/node/origins"
	"github.com/cairn-fed/cairn/node/pins"
	"github.com/cairn-fed/cairn/node/snapshot"
)

// Backend is what the API serves: a running node.
type Backend interface {
	ID() node.Identity
	Peers() []node.Peer
	Connect(ctx context.Context, addr string) error
	Add(ctx context.Context, src object.Source, opts node.AddOptions) (node.AddResult, error)
	Read(ctx context.Context, capability string) (*object.Object, func(readErr error) error, error)
	Verify(ctx context.Context, req node.DrillRequest) (node.Drill, error)
	List(ctx context.Context) ([]node.ObjectInfo, error)
	Members() []node.MemberInfo
	FederationCreate(ctx context.Context, name, operator, region string) (node.FederationInfo, error)
	FederationAdmitWith(ctx context.Context, peerID, operator, region string, opts node.AdmitOptions) (string, error)
	FederationRenew(ctx context.Context, peerID string, expires time.Time) (node.FederationInfo, error)
	FederationJoin(ctx context.Context, token string) (node.FederationInfo, error)
	FederationRevoke(ctx context.Context, peerID, operator, reason string) (node.FederationInfo, error)
	FederationShow() (node.FederationInfo, error)
	FederationRemoveAuthority() error
	FederationImportAuthority(text string) error
	StatusBackend
	Delete(ctx context.Context, cid string) (node.DeletionResult, error)
	Undelete(ctx context.Context, cid string) (node.DeletionResult, error)
	Takedown(ctx context.Context, cid, reason string, lift bool) (node.DeletionResult, error)
	Recover(ctx context.Context, owner *keys.Owner, opts node.RecoverOptions) (node.RecoverReport, error)
	AdoptOwner(ctx context.Context, owner *keys.Owner) error
	Catalog() node.CatalogInfo
	Export(ctx context.Context, root cid.Cid, w io.Writer) error
	Import(ctx context.Context, r io.Reader, opts node.ImportOptions) (node.ImportResult, error)
	Pin(ctx context.Context, root cid.Cid, opts node.PinOptions) (node.ImportResult, error)
	Snapshot(ctx context.Context, w io.Writer, opts node.SnapshotOptions) (snapshot.Summary, error)
	StoreSnapshot(ctx context.Context, opts node.SnapshotOptions) (node.AddResult, error)
}

var _ Backend = (*node.Node)(nil)

// Content types of add request bodies.
const (
	ContentTar  = "application/x-tar"
	ContentFile = "application/octet-stream"
)

// errorTrailer carries an error that happens after a stream has started.
const errorTrailer = "X-Cairn-Error"

// Server serves the API.
type Server struct {
	backend Backend
	token   string
	logger  *slog.Logger
	srv     *http.Server
	mux     *routes
	// listenHost is the host of the address Serve listens on, set before
	// serving starts: requests may name it in their Host header.
	listenHost atomic.Pointer[string]
	// pins is the Pinning Service, whose tokens the API manages; nil
	// while it is off.
	pins atomic.Pointer[pins.Service]
}

// NewServer makes a server for backend guarded by token.
func NewServer(backend Backend, token string, logger *slog.Logger) *Server {
	s := &Server{backend: backend, token: token, logger: logger}
	mux := &routes{ServeMux: http.NewServeMux()}
	s.mux = mux
	mux.HandleFunc("GET /api/v1/id", s.handleID)
	mux.HandleFunc("GET /api/v1/peers", s.handlePeers)
	mux.HandleFunc("POST /api/v1/connect", s.handleConnect)
	mux.HandleFunc("POST /api/v1/add", s.handleAdd)
	mux.HandleFunc("POST /api/v1/get", s.handleGet)
	mux.HandleFunc("POST /api/v1/verify", s.handleVerify)
	mux.HandleFunc("GET /api/v1/ls", s.handleList)
	s.federationRoutes(mux)
	s.statusRoutes(mux)
	s.deletionRoutes(mux)
	s.recoverRoutes(mux)
	s.exportRoutes(mux)
	s.snapshotRoutes(mux)
	s.pinRoutes(mux)
	s.pinsTokenRoutes(mux)
	profilingRoutes(mux)
	// Streams (get, export, import, events) may run for hours: only idle
	// connections are timed out.
	s.srv = &http.Server{Handler: s.checkHost(dashboard.Handler(s.authorize(mux))), ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout: 2 * time.Minute, ConnContext: withConn}
	s.monitorRoutes(mux) // events, health, /metrics: after srv, so that streams end on Shutdown
	return s
}

// routes is the API's mux. It remembers every pattern registered on it, so
// that a test can hold them against the API's description, docs/api.yaml.
type routes struct {
	*http.ServeMux
	patterns []string
}

// HandleFunc registers handler for pattern, as http.ServeMux does.
func (r *routes) HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request)) {
	r.patterns = append(r.patterns, pattern)
	r.ServeMux.HandleFunc(pattern, handler)
}

// Handle registers handler for pattern, as http.ServeMux does.
func (r *routes) Handle(pattern string, handler http.Handler) {
	r.patterns = append(r.patterns, pattern)
	r.ServeMux.Handle(pattern, handler)
}

// Serve answers requests on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	if host, _, err := net.SplitHostPort(l.Addr().String()); err == nil {
		s.listenHost.Store(&host)
	}
	if err := s.srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api: serve: %w", err)
	}
	return nil
}

// Shutdown stops the server, letting requests in flight finish until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// checkHost answers 421 to a request whose Host header names anything but
// this machine's loopback: a web page whose DNS name is rebound to
// 127.0.0.1 would otherwise reach the API from the user's browser, with
// the page's origin. The dashboard and the CLI use the loopback address
// the daemon prints (api.address must be a loopback IP), so they pass.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.allowedHost(r.Host) {
			writeError(w, http.StatusMisdirectedRequest, fmt.Errorf("host %q is not this node's API: use http://127.0.0.1:PORT, http://[::1]:PORT or http://localhost:PORT (refused to protect against DNS rebinding)", r.Host))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// allowedHost reports whether a Host header names a loopback IP literal,
// localhost, or the host the server listens on.
func (s *Server) allowedHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	if host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Zone() == "" && ip.IsLoopback() {
		return true
	}
	listen := s.listenHost.Load()
	return listen != nil && host == *listen
}

func (s *Server) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
			writeError(w, http.StatusUnauthorized, errors.New("missing or wrong API token: send `Authorization: Bearer <token>` with the token from the repository's api.token file"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) handleID(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.backend.ID())
}

func (s *Server) handlePeers(w http.ResponseWriter, _ *http.Request) {
	peers := s.backend.Peers()
	if peers == nil {
		peers = []node.Peer{}
	}
	writeJSON(w, peers)
}

func (s *Server) handleMembers(w http.ResponseWriter, _ *http.Request) {
	members := s.backend.Members()
	if members == nil {
		members = []node.MemberInfo{}
	}
	writeJSON(w, members)
}

type connectRequest struct {
	Addr string `json:"addr"`
}

func (s *Server) handleConnect(w http.ResponseWriter, r *http.Request) {
	var req connectRequest
	if !readJSON(w, r, &req) {
		return
	}
	if err := s.backend.Connect(r.Context(), req.Addr); err != nil {
		status := http.StatusBadGateway
		if errors.Is(err, node.ErrBadAddress) {
			status = http.StatusBadRequest
		}
		writeError(w, status, err)
		return
	}
	writeJSON(w, map[string]string{"connected": req.Addr})
}

// statusOf maps an error to the HTTP status that tells the client whose fault it is.
func statusOf(err error) int {
	for _, m := range errorStatuses {
		if errors.Is(err, m.err) {
			return m.status
		}
	}
	if isFederationRefusal(err) {
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// errorStatuses tells the client whose fault an error is: 4xx for what the
// request can fix, 5xx for what the node or its peers cannot do right now.
var errorStatuses = []struct {
	err    error
	status int
}{
	{object.ErrWrongKey, http.StatusBadRequest},
	{object.ErrInvalidCapability, http.StatusBadRequest},
	{object.ErrInvalidPath, http.StatusBadRequest},
	{object.ErrNotCairnObject, http.StatusBadRequest},
	{object.ErrUnsupportedVersion, http.StatusBadRequest},
	{node.ErrBadAddress, http.StatusBadRequest},
	{node.ErrNotFound, http.StatusNotFound},
	{node.ErrInvalidCID, http.StatusBadRequest},
	{node.ErrBadBundle, http.StatusBadRequest},
	{origins.ErrBadOrigin, http.StatusBadRequest},
	{origins.ErrNoOrigin, http.StatusBadGateway},
	{object.ErrUnsupportedDAG, http.StatusBadRequest},
	{node.ErrNotOwner, http.StatusForbidden},
	{node.ErrSnapshotRunning, http.StatusConflict},
	{node.ErrInvalidReason, http.StatusBadRequest},
	{node.ErrNotDeleted, http.StatusConflict},
	{node.ErrDeleted, http.StatusGone},
	{node.ErrGone, http.StatusGone},
	{node.ErrOwnsObjects, http.StatusConflict},
	{node.ErrRecovering, http.StatusConflict},
	{node.ErrNoCatalog, http.StatusNotFound},
	{node.ErrNothingToDrill, http.StatusNotFound},
	{node.ErrNoPeers, http.StatusServiceUnavailable},
	{node.ErrNotDurable, http.StatusServiceUnavailable},
	{blockstore.ErrNoSpace, http.StatusInsufficientStorage},
}

type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(errorBody{Error: err.Error()})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// readJSON decodes a small JSON request body, answering 400 when it is bad.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("malformed JSON request: %w", err))
		return false
	}
	return true
}
