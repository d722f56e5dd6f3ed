package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/cairn-fed/cairn/node/pins"
)

// errPinsOff answers token requests while the Pinning Service is off.
var errPinsOff = errors.New("the IPFS Pinning Service API is off: set pins.listen in config.toml (or `cairn init --pins-api HOST:PORT`) and restart the daemon")

// SetPins gives the API the running Pinning Service, whose tokens it
// manages.
func (s *Server) SetPins(svc *pins.Service) { s.pins.Store(svc) }

func (s *Server) pinsTokenRoutes(mux *routes) {
	mux.HandleFunc("POST /api/v1/pins/tokens", s.handlePinsTokenCreate)
	mux.HandleFunc("GET /api/v1/pins/tokens", s.handlePinsTokenList)
	mux.HandleFunc("DELETE /api/v1/pins/tokens/{user}", s.handlePinsTokenRevoke)
}

// PinsToken is a new Pinning Service token: shown once, kept as a hash.
type PinsToken struct {
	User  string `json:"user"`
	Token string `json:"token"`
}

func (s *Server) pinsService(w http.ResponseWriter) *pins.Service {
	svc := s.pins.Load()
	if svc == nil {
		writeError(w, http.StatusConflict, errPinsOff)
	}
	return svc
}

func (s *Server) handlePinsTokenCreate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		User string `json:"user"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	svc := s.pinsService(w)
	if svc == nil {
		return
	}
	token, err := svc.CreateToken(r.Context(), req.User)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, pins.ErrBadRequest) {
			status = http.StatusBadRequest
		}
		writeError(w, status, err)
		return
	}
	writeJSON(w, PinsToken{User: req.User, Token: token})
}

func (s *Server) handlePinsTokenList(w http.ResponseWriter, r *http.Request) {
	if svc := s.pinsService(w); svc != nil {
		writeJSON(w, map[string]map[string]int{"users": svc.Users()})
	}
}

func (s *Server) handlePinsTokenRevoke(w http.ResponseWriter, r *http.Request) {
	svc := s.pinsService(w)
	if svc == nil {
		return
	}
	n, err := svc.RevokeTokens(r.Context(), r.PathValue("user"))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, map[string]int{"revoked": n})
}

// CreatePinsToken makes a Pinning Service token for user.
func (c *Client) CreatePinsToken(ctx context.Context, user string) (PinsToken, error) {
	body, _ := json.Marshal(map[string]string{"user": user})
	req, err := c.request(ctx, http.MethodPost, "/api/v1/pins/tokens", bytes.NewReader(body))
	if err != nil {
		return PinsToken{}, err
	}
	var t PinsToken
	return t, c.do(req, &t)
}

// PinsUsers lists the Pinning Service's users and their token counts.
func (c *Client) PinsUsers(ctx context.Context) (map[string]int, error) {
	req, err := c.request(ctx, http.MethodGet, "/api/v1/pins/tokens", nil)
	if err != nil {
		return nil, err
	}
	var out struct {
		Users map[string]int `json:"users"`
	}
	return out.Users, c.do(req, &out)
}

// RevokePinsTokens removes every token of user.
func (c *Client) RevokePinsTokens(ctx context.Context, user string) (int, error) {
	req, err := c.request(ctx, http.MethodDelete, "/api/v1/pins/tokens/"+url.PathEscape(user), nil)
	if err != nil {
		return 0, err
	}
	var out struct {
		Revoked int `json:"revoked"`
	}
	return out.Revoked, c.do(req, &out)
}
