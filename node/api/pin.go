package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/origins"
)

// PinRequest asks the node to fetch and keep an existing IPFS DAG.
type PinRequest struct {
	CID      string   `json:"cid"`
	Origins  []string `json:"origins,omitempty"`
	Name     string   `json:"name,omitempty"`
	Replicas int      `json:"replicas,omitempty"`
}

// pinLine is one line of a pin's answer: progress while the DAG is
// fetched, then the result or the error.
type pinLine struct {
	Progress *origins.Progress  `json:"progress,omitempty"`
	Result   *node.ImportResult `json:"result,omitempty"`
	Error    string             `json:"error,omitempty"`
}

func (s *Server) pinRoutes(mux *routes) {
	mux.HandleFunc("POST /api/v1/pin", s.handlePin)
}

// handlePin answers with newline-delimited JSON: a progress line at most
// every half second while the DAG is fetched, then the result or the
// error. A request that cannot start is an ordinary error answer.
func (s *Server) handlePin(w http.ResponseWriter, r *http.Request) {
	var req PinRequest
	if !readJSON(w, r, &req) {
		return
	}
	root, err := cid.Decode(req.CID)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%w: %q: %v", node.ErrInvalidCID, req.CID, err))
		return
	}
	if _, err := origins.ParseAll(req.Origins); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if req.Replicas < 0 || req.Replicas > 64 {
		writeError(w, http.StatusBadRequest, fmt.Errorf("replicas must be a whole number from 1 to 64, got %d", req.Replicas))
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	var mu sync.Mutex
	enc := json.NewEncoder(w)
	flusher, _ := w.(http.Flusher)
	send := func(l pinLine) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(l)
		if flusher != nil {
			flusher.Flush()
		}
	}
	var last time.Time
	res, err := s.backend.Pin(r.Context(), root, node.PinOptions{
		Origins: req.Origins, Name: req.Name, Replicas: req.Replicas,
		OnProgress: func(p origins.Progress) {
			if time.Since(last) >= 500*time.Millisecond {
				last = time.Now()
				send(pinLine{Progress: &p})
			}
		},
	})
	if err != nil {
		s.logger.Warn("pin failed", "cid", root, "err", err)
		send(pinLine{Error: err.Error()})
		return
	}
	send(pinLine{Result: &res})
}

// Pin asks the node to fetch and keep an existing IPFS DAG; onProgress, if
// not nil, hears what the fetch received so far.
func (c *Client) Pin(ctx context.Context, req PinRequest, onProgress func(origins.Progress)) (node.ImportResult, error) {
	resp, err := c.postStream(ctx, "/api/v1/pin", req)
	if err != nil {
		return node.ImportResult{}, err
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		var l pinLine
		if err := json.Unmarshal(lines.Bytes(), &l); err != nil {
			return node.ImportResult{}, fmt.Errorf("malformed answer from the daemon: %w", err)
		}
		switch {
		case l.Error != "":
			return node.ImportResult{}, errors.New(l.Error)
		case l.Result != nil:
			return *l.Result, nil
		case l.Progress != nil && onProgress != nil:
			onProgress(*l.Progress)
		}
	}
	if err := lines.Err(); err != nil {
		return node.ImportResult{}, fmt.Errorf("read the daemon's answer: %w", err)
	}
	return node.ImportResult{}, errors.New("the daemon's answer ended before the pin did")
}
