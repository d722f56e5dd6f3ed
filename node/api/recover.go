package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/cairn-fed/cairn/internal/keys"
	"github.com/cairn-fed/cairn/node"
)

// ownerKeyRequest carries an owner's master secret to the daemon, over
// the loopback API behind the token (the daemon keeps it in the
// repository, sealed under its passphrase if it has one).
type ownerKeyRequest struct {
	Secret []byte    `json:"secret"`
	At     time.Time `json:"at,omitzero"` // recover only
}

func (s *Server) recoverRoutes(mux *routes) {
	mux.HandleFunc("POST /api/v1/recover", s.handleRecover)
	mux.HandleFunc("POST /api/v1/key/import", s.handleKeyImport)
	mux.HandleFunc("GET /api/v1/catalog", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, s.backend.Catalog()) })
}

// readOwnerKey reads a request carrying an owner secret, answering 400
// if it is not one.
func readOwnerKey(w http.ResponseWriter, r *http.Request) (*keys.Owner, ownerKeyRequest, bool) {
	var req ownerKeyRequest
	if !readJSON(w, r, &req) {
		return nil, req, false
	}
	if len(req.Secret) != 32 {
		writeError(w, http.StatusBadRequest, errBadSecret)
		return nil, req, false
	}
	return keys.FromSecret([32]byte(req.Secret)), req, true
}

func (s *Server) handleRecover(w http.ResponseWriter, r *http.Request) {
	owner, req, ok := readOwnerKey(w, r)
	if !ok {
		return
	}
	report, err := s.backend.Recover(r.Context(), owner, node.RecoverOptions{At: req.At})
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, report)
}

func (s *Server) handleKeyImport(w http.ResponseWriter, r *http.Request) {
	owner, _, ok := readOwnerKey(w, r)
	if !ok {
		return
	}
	if err := s.backend.AdoptOwner(r.Context(), owner); err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, map[string]string{"fingerprint": owner.Fingerprint()})
}

// Recover asks the node to restore, from the owner key, the listing of
// the owner's objects (at a time, if at is not zero) and the objects.
func (c *Client) Recover(ctx context.Context, owner *keys.Owner, at time.Time) (node.RecoverReport, error) {
	var res node.RecoverReport
	secret := owner.Secret()
	return res, c.call(ctx, http.MethodPost, "/api/v1/recover", ownerKeyRequest{Secret: secret[:], At: at}, &res)
}

// ImportKey makes owner the node's owner key.
func (c *Client) ImportKey(ctx context.Context, owner *keys.Owner) error {
	secret := owner.Secret()
	return c.call(ctx, http.MethodPost, "/api/v1/key/import", ownerKeyRequest{Secret: secret[:]}, nil)
}

// Catalog reports on the owner's catalog.
func (c *Client) Catalog(ctx context.Context) (node.CatalogInfo, error) {
	var res node.CatalogInfo
	return res, c.call(ctx, http.MethodGet, "/api/v1/catalog", nil, &res)
}

var errBadSecret = errors.New("api: an owner key is 32 bytes")
