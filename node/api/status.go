package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
)

// StatusBackend answers replication status from the node's local ledger.
type StatusBackend interface {
	Status(ctx context.Context, cid string) (netstat.ObjectView, error)
	StatusAll(ctx context.Context) (node.StatusOverview, error)
}

func (s *Server) statusRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/status", s.handleStatusAll)
	mux.HandleFunc("GET /api/v1/status/{cid}", s.handleStatus)
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	v, err := s.backend.Status(r.Context(), r.PathValue("cid"))
	if errors.Is(err, node.ErrNotFound) {
		writeError(w, http.StatusNotFound, errors.New("not found"))
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, v)
}

func (s *Server) handleStatusAll(w http.ResponseWriter, r *http.Request) {
	ov, err := s.backend.StatusAll(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, ov)
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
