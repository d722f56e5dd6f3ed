package api

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/cairn-fed/cairn/node"
)

// ContentCAR is the media type of a CAR bundle.
const ContentCAR = "application/vnd.ipld.car"

type exportRequest struct {
	// Object is an object ID or a capability.
	Object string `json:"object"`
}

func (s *Server) exportRoutes(mux *routes) {
	mux.HandleFunc("POST /api/v1/export", s.handleExport)
	mux.HandleFunc("POST /api/v1/import", s.handleImport)
}

// handleImport reads a CAR bundle from the request body.
func (s *Server) handleImport(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != ContentCAR && ct != "" {
		writeError(w, http.StatusUnsupportedMediaType, fmt.Errorf("import takes %s, not %q", ContentCAR, ct))
		return
	}
	opts, err := addOptions(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	res, err := s.backend.Import(r.Context(), r.Body, node.ImportOptions{Name: opts.Name, Replicas: opts.Replicas})
	if err != nil {
		s.logger.Warn("import failed", "err", err)
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, res)
}

// Import sends a CAR bundle to the node, which stores and replicates it.
func (c *Client) Import(ctx context.Context, bundle io.Reader, opts node.ImportOptions) (node.ImportResult, error) {
	req, err := c.request(ctx, http.MethodPost, "/api/v1/import?"+storeQuery(opts.Name, opts.Replicas).Encode(), bundle)
	if err != nil {
		return node.ImportResult{}, err
	}
	req.Header.Set("Content-Type", ContentCAR)
	var res node.ImportResult
	return res, c.do(req, &res)
}

// handleExport streams an object's DAG as a CAR. An error before the
// first byte is an ordinary error answer; one after it is the error
// trailer, as for get.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	var req exportRequest
	if !readJSON(w, r, &req) {
		return
	}
	root, err := node.ExportRoot(req.Object)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	sw := &startedWriter{w: w, start: func() {
		w.Header().Set("Trailer", errorTrailer)
		w.Header().Set("Content-Type", ContentCAR)
	}}
	if err := s.backend.Export(r.Context(), root, sw); err != nil {
		if !sw.started {
			writeError(w, statusOf(err), err)
			return
		}
		s.logger.Warn("export stream failed", "err", err)
		w.Header().Set(errorTrailer, err.Error())
	}
}

// startedWriter calls start before the first byte it writes, so that a
// handler can still answer with an error until then.
type startedWriter struct {
	w       io.Writer
	start   func()
	started bool
}

func (s *startedWriter) Write(p []byte) (int, error) {
	if !s.started {
		s.started = true
		s.start()
	}
	return s.w.Write(p)
}

// Export asks the node for an object's DAG as a CAR bundle; the reader
// ends with the daemon's error if the stream broke off.
func (c *Client) Export(ctx context.Context, object string) (io.ReadCloser, error) {
	resp, err := c.postStream(ctx, "/api/v1/export", exportRequest{Object: object})
	if err != nil {
		return nil, err
	}
	return &Stream{resp: resp}, nil
}
