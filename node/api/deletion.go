package api

import (
	"context"
	"net/http"

	"github.com/cairn-fed/cairn/node"
)

type deletionRequest struct {
	CID    string `json:"cid"`
	Reason string `json:"reason,omitempty"` // takedowns only
	Lift   bool   `json:"lift,omitempty"`   // takedowns only: restore
}

func (s *Server) deletionRoutes(mux *routes) {
	mux.HandleFunc("POST /api/v1/rm", s.handleDeletion(s.backend.Delete))
	mux.HandleFunc("POST /api/v1/undelete", s.handleDeletion(s.backend.Undelete))
	mux.HandleFunc("POST /api/v1/federation/takedown", s.handleTakedown)
}

func (s *Server) handleTakedown(w http.ResponseWriter, r *http.Request) {
	var req deletionRequest
	if !readJSON(w, r, &req) {
		return
	}
	res, err := s.backend.Takedown(r.Context(), req.CID, req.Reason, req.Lift)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, res)
}

// Takedown asks the node, which must hold the federation authority key, to
// delete (or with lift, restore) any member's object for a reason.
func (c *Client) Takedown(ctx context.Context, cid, reason string, lift bool) (node.DeletionResult, error) {
	var res node.DeletionResult
	return res, c.call(ctx, http.MethodPost, "/api/v1/federation/takedown", deletionRequest{CID: cid, Reason: reason, Lift: lift}, &res)
}

func (s *Server) handleDeletion(do func(ctx context.Context, cid string) (node.DeletionResult, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req deletionRequest
		if !readJSON(w, r, &req) {
			return
		}
		res, err := do(r.Context(), req.CID)
		if err != nil {
			writeError(w, statusOf(err), err)
			return
		}
		writeJSON(w, res)
	}
}

// Delete asks the node to delete an object its owner added.
func (c *Client) Delete(ctx context.Context, cid string) (node.DeletionResult, error) {
	var res node.DeletionResult
	return res, c.call(ctx, http.MethodPost, "/api/v1/rm", deletionRequest{CID: cid}, &res)
}

// Undelete asks the node to restore a deleted object inside its trash window.
func (c *Client) Undelete(ctx context.Context, cid string) (node.DeletionResult, error) {
	var res node.DeletionResult
	return res, c.call(ctx, http.MethodPost, "/api/v1/undelete", deletionRequest{CID: cid}, &res)
}
