package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cairn-fed/cairn/federation"
	"github.com/cairn-fed/cairn/node"
)

func (s *Server) federationRoutes(mux *routes) {
	mux.HandleFunc("GET /api/v1/members", s.handleMembers)
	mux.HandleFunc("GET /api/v1/federation", s.handleFederationShow)
	mux.HandleFunc("POST /api/v1/federation/create", s.handleFederationCreate)
	mux.HandleFunc("POST /api/v1/federation/admit", s.handleFederationAdmit)
	mux.HandleFunc("POST /api/v1/federation/join", s.handleFederationJoin)
	mux.HandleFunc("POST /api/v1/federation/revoke", s.handleFederationRevoke)
	mux.HandleFunc("POST /api/v1/federation/renew", s.handleFederationRenew)
	// There is no export: the key leaves only through `cairn federation
	// export-authority`, which reads the repository (with the passphrase
	// that seals it), so the API token alone never yields it.
	mux.HandleFunc("POST /api/v1/federation/authority/remove", s.handleAuthorityRemove)
	mux.HandleFunc("POST /api/v1/federation/authority/import", s.handleAuthorityImport)
}

// FederationRequest carries the arguments of every federation call.
type FederationRequest struct {
	Name     string `json:"name,omitempty"`
	PeerID   string `json:"peer_id,omitempty"`
	Operator string `json:"operator,omitempty"`
	Region   string `json:"region,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Token    string `json:"token,omitempty"`
	Key      string `json:"key,omitempty"`
	// Readmit admits a peer that was revoked, lifting its revocation.
	Readmit bool `json:"readmit,omitempty"`
	// For is, on admit, how long the membership lasts unless renewed (a
	// Go duration; empty: for good); on renew, how long from now (empty:
	// for good).
	For string `json:"for,omitempty"`
}

// membershipFor reads FederationRequest.For: 0 means for good.
func membershipFor(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%w: for %q is not a positive duration such as 720h", federation.ErrInvalid, s)
	}
	return d, nil
}

// TokenAnswer is what admit returns.
type TokenAnswer struct {
	Token string `json:"token"`
}

// KeyAnswer is what `cairn federation export-authority --json` prints.
type KeyAnswer struct {
	Key string `json:"key"`
}

// isFederationRefusal reports errors that are the caller's to fix.
func isFederationRefusal(err error) bool {
	for _, e := range []error{
		node.ErrNoFederation, federation.ErrMalformed, federation.ErrInvalid, federation.ErrCorrupted,
		federation.ErrTruncated, federation.ErrUnsupportedVersion, federation.ErrBadSignature,
		federation.ErrOtherFederation, federation.ErrStale, federation.ErrNoAuthority,
		federation.ErrNotAuthority, federation.ErrAlreadyMember, federation.ErrRevokedPeer,
		federation.ErrNotMember, federation.ErrTokenExpired, federation.ErrNotForThisPeer,
		federation.ErrTooLarge, federation.ErrConflict, federation.ErrVersionJump,
		federation.ErrFutureRoster,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (s *Server) handleFederationShow(w http.ResponseWriter, _ *http.Request) {
	info, err := s.backend.FederationShow()
	respond(w, info, err)
}

func (s *Server) federationCall(w http.ResponseWriter, r *http.Request, call func(context.Context, FederationRequest) (any, error)) {
	var req FederationRequest
	if !readJSON(w, r, &req) {
		return
	}
	v, err := call(r.Context(), req)
	respond(w, v, err)
}

func respond(w http.ResponseWriter, v any, err error) {
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, v)
}

func (s *Server) handleFederationCreate(w http.ResponseWriter, r *http.Request) {
	s.federationCall(w, r, func(ctx context.Context, q FederationRequest) (any, error) {
		return s.backend.FederationCreate(ctx, q.Name, q.Operator, q.Region)
	})
}

func (s *Server) handleFederationAdmit(w http.ResponseWriter, r *http.Request) {
	s.federationCall(w, r, func(ctx context.Context, q FederationRequest) (any, error) {
		d, err := membershipFor(q.For)
		if err != nil {
			return nil, err
		}
		tok, err := s.backend.FederationAdmitWith(ctx, q.PeerID, q.Operator, q.Region, node.AdmitOptions{Readmit: q.Readmit, For: d})
		return TokenAnswer{Token: tok}, err
	})
}

func (s *Server) handleFederationRenew(w http.ResponseWriter, r *http.Request) {
	s.federationCall(w, r, func(ctx context.Context, q FederationRequest) (any, error) {
		d, err := membershipFor(q.For)
		if err != nil {
			return nil, err
		}
		var expires time.Time
		if d > 0 {
			expires = time.Now().Add(d)
		}
		return s.backend.FederationRenew(ctx, q.PeerID, expires)
	})
}

func (s *Server) handleFederationJoin(w http.ResponseWriter, r *http.Request) {
	s.federationCall(w, r, func(ctx context.Context, q FederationRequest) (any, error) {
		return s.backend.FederationJoin(ctx, q.Token)
	})
}

func (s *Server) handleFederationRevoke(w http.ResponseWriter, r *http.Request) {
	s.federationCall(w, r, func(ctx context.Context, q FederationRequest) (any, error) {
		return s.backend.FederationRevoke(ctx, q.PeerID, q.Operator, q.Reason)
	})
}

func (s *Server) handleAuthorityRemove(w http.ResponseWriter, r *http.Request) {
	s.federationCall(w, r, func(context.Context, FederationRequest) (any, error) {
		return map[string]bool{"removed": true}, s.backend.FederationRemoveAuthority()
	})
}

func (s *Server) handleAuthorityImport(w http.ResponseWriter, r *http.Request) {
	s.federationCall(w, r, func(_ context.Context, q FederationRequest) (any, error) {
		return map[string]bool{"imported": true}, s.backend.FederationImportAuthority(q.Key)
	})
}

// Members lists the federation's members as this node sees them.
func (c *Client) Members(ctx context.Context) ([]node.MemberInfo, error) {
	var ms []node.MemberInfo
	return ms, c.call(ctx, http.MethodGet, "/api/v1/members", nil, &ms)
}

// FederationShow describes the node's federation.
func (c *Client) FederationShow(ctx context.Context) (node.FederationInfo, error) {
	var info node.FederationInfo
	return info, c.call(ctx, http.MethodGet, "/api/v1/federation", nil, &info)
}

// Federation calls a federation operation: create, admit, join, revoke,
// authority/remove or authority/import, decoding the answer into out.
func (c *Client) Federation(ctx context.Context, op string, req FederationRequest, out any) error {
	return c.call(ctx, http.MethodPost, "/api/v1/federation/"+op, req, out)
}
