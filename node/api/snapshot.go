package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/snapshot"
)

// summaryTrailer carries a finished snapshot's summary (JSON).
const summaryTrailer = "X-Cairn-Snapshot"

type snapshotRequest struct {
	Blocks bool `json:"blocks"`
	// Federation stores the snapshot in the federation instead of
	// sending it: the answer is the object added.
	Federation bool `json:"federation,omitempty"`
}

func (s *Server) snapshotRoutes(mux *routes) {
	mux.HandleFunc("POST /api/v1/snapshot", s.handleSnapshot)
}

// handleSnapshot streams a snapshot of the node as a tar; its summary
// follows in a trailer, or the error that cut it short.
func (s *Server) handleSnapshot(w http.ResponseWriter, r *http.Request) {
	var req snapshotRequest
	if !readJSON(w, r, &req) {
		return
	}
	if req.Federation {
		res, err := s.backend.StoreSnapshot(r.Context(), node.SnapshotOptions{Blocks: req.Blocks})
		if err != nil {
			writeError(w, statusOf(err), err)
			return
		}
		writeJSON(w, res)
		return
	}
	sw := &startedWriter{w: w, start: func() {
		w.Header().Set("Trailer", errorTrailer+", "+summaryTrailer)
		w.Header().Set("Content-Type", ContentTar)
	}}
	// net/http writes the body in small pieces; a snapshot of many small
	// blocks would cost a write call each.
	bw := bufio.NewWriterSize(sw, 1<<20)
	sum, err := s.backend.Snapshot(r.Context(), bw, node.SnapshotOptions{Blocks: req.Blocks})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		if !sw.started {
			writeError(w, statusOf(err), err)
			return
		}
		s.logger.Warn("snapshot stream failed", "err", err)
		w.Header().Set(errorTrailer, err.Error())
		return
	}
	text, _ := json.Marshal(sum)
	w.Header().Set(summaryTrailer, string(text))
}

// SnapshotStream is a snapshot as the daemon sends it. It ends with an
// error rather than EOF unless the daemon's summary followed it: a reader
// that writes a file puts it in place only when the snapshot is whole.
type SnapshotStream struct {
	Stream
	sum snapshot.Summary
}

func (s *SnapshotStream) Read(p []byte) (int, error) {
	n, err := s.Stream.Read(p)
	if errors.Is(err, io.EOF) {
		if s.sum, err = s.summary(); err == nil {
			err = io.EOF
		}
	}
	return n, err
}

// Summary returns what the snapshot holds, once it was read to its end.
func (s *SnapshotStream) Summary() snapshot.Summary { return s.sum }

func (s *SnapshotStream) summary() (snapshot.Summary, error) {
	var sum snapshot.Summary
	text := s.resp.Trailer.Get(summaryTrailer)
	if text == "" {
		return sum, fmt.Errorf("the daemon sent no snapshot summary: the snapshot is incomplete")
	}
	if err := json.Unmarshal([]byte(text), &sum); err != nil {
		return sum, fmt.Errorf("read the snapshot summary: %w", err)
	}
	return sum, nil
}

// Snapshot asks the node for a snapshot of itself; the reader ends with
// the daemon's error if the stream broke off.
func (c *Client) Snapshot(ctx context.Context, blocks bool) (*SnapshotStream, error) {
	resp, err := c.postStream(ctx, "/api/v1/snapshot", snapshotRequest{Blocks: blocks})
	if err != nil {
		return nil, err
	}
	return &SnapshotStream{Stream: Stream{resp: resp}}, nil
}

// StoreSnapshot asks the node to store a snapshot of itself in the
// federation.
func (c *Client) StoreSnapshot(ctx context.Context, blocks bool) (node.AddResult, error) {
	var res node.AddResult
	err := c.call(ctx, http.MethodPost, "/api/v1/snapshot", snapshotRequest{Blocks: blocks, Federation: true}, &res)
	return res, err
}
