package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
)

// StatusBackend answers replication status from the node's local ledger.
type StatusBackend interface {
	Status(ctx context.Context, cid string) (netstat.ObjectView, error)
	StatusAll(ctx context.Context) (node.StatusOverview, error)
	StatusPage(ctx context.Context, after netstat.PageCursor, limit int) (node.StatusOverview, error)
}

// maxPageSize caps ?limit= on GET /api/v1/status.
var maxPageSize = netstat.DefaultConfig().MaxPageSize

func (s *Server) statusRoutes(mux *routes) {
	mux.HandleFunc("GET /api/v1/status", s.handleStatusAll)
	mux.HandleFunc("GET /api/v1/status/{cid}", s.handleStatus)
}

// errUnknownObject answers a status query for an object the node has no
// record of: say where to look, and how to bring one here.
var errUnknownObject = errors.New("this node knows of no object with this ID: `cairn status` without a CID lists those it knows; " +
	"to fetch one, run `cairn get CAPABILITY -o OUT`")

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	v, err := s.backend.Status(r.Context(), r.PathValue("cid"))
	if errors.Is(err, node.ErrNotFound) {
		writeError(w, http.StatusNotFound, errUnknownObject)
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, v)
}

// handleStatusAll answers GET /api/v1/status: every object in CID order,
// or with ?limit=N and/or ?after=CURSOR one page, most urgent first, whose
// "next" field is the cursor of the following page ("" on the last).
func (s *Server) handleStatusAll(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !q.Has("limit") && !q.Has("after") {
		ov, err := s.backend.StatusAll(r.Context())
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, ov)
		return
	}
	after, limit, err := pageQuery(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	ov, err := s.backend.StatusPage(r.Context(), after, limit)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, ov)
}

// pageQuery reads ?limit= (1 to maxPageSize; absent: the default page
// size) and ?after= (a page cursor; absent or empty: the first page).
func pageQuery(q url.Values) (netstat.PageCursor, int, error) {
	limit := 0
	if v := q.Get("limit"); q.Has("limit") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return netstat.PageCursor{}, 0, fmt.Errorf("limit must be a whole number from 1 to %d, got %q", maxPageSize, v)
		}
		limit = n
	}
	after, err := netstat.ParsePageCursor(q.Get("after"))
	if err != nil {
		return netstat.PageCursor{}, 0, fmt.Errorf("after: %w", err)
	}
	return after, limit, nil
}

// Status returns the replication status of one object.
func (c *Client) Status(ctx context.Context, cid string) (netstat.ObjectView, error) {
	var v netstat.ObjectView
	return v, c.call(ctx, http.MethodGet, "/api/v1/status/"+url.PathEscape(cid), nil, &v)
}

// StatusAll returns the tally and one row per known object.
func (c *Client) StatusAll(ctx context.Context) (node.StatusOverview, error) {
	var ov node.StatusOverview
	return ov, c.call(ctx, http.MethodGet, "/api/v1/status", nil, &ov)
}

// StatusPage returns the tally and one page of at most limit rows after
// the cursor, most urgent first; limit <= 0 asks for the default size.
func (c *Client) StatusPage(ctx context.Context, after netstat.PageCursor, limit int) (node.StatusOverview, error) {
	q := url.Values{}
	q.Set("after", after.String())
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var ov node.StatusOverview
	return ov, c.call(ctx, http.MethodGet, "/api/v1/status?"+q.Encode(), nil, &ov)
}
