package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/node"
)

func (s *Server) handleAdd(w http.ResponseWriter, r *http.Request) {
	opts, err := addOptions(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	var src object.Source
	switch ct := r.Header.Get("Content-Type"); {
	case r.URL.Query().Get("passed") == "true":
		if src, err = passedFileSource(r, r.URL.Query().Get("entry")); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
	case ct == ContentTar:
		src = object.NewTarSource(r.Body)
	case ct == ContentFile, ct == "":
		src = object.NewReaderSource(opts.Name, r.Body)
	default:
		writeError(w, http.StatusUnsupportedMediaType, fmt.Errorf("add takes %s or %s, not %q", ContentTar, ContentFile, ct))
		return
	}
	if c, ok := src.(io.Closer); ok {
		defer c.Close() // a passed file, even if the add stops before reading it
	}
	res, err := s.backend.Add(r.Context(), src, opts)
	if err != nil {
		s.logger.Warn("add failed", "err", err)
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, res)
}

func addOptions(r *http.Request) (node.AddOptions, error) {
	q := r.URL.Query()
	opts := node.AddOptions{
		Name:        q.Get("name"),
		Unencrypted: q.Get("unencrypted") == "true",
		New:         q.Get("new") == "true",
	}
	if v := q.Get("replicas"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			return opts, fmt.Errorf("replicas must be a whole number from 1 to 64, got %q", v)
		}
		opts.Replicas = n
	}
	return opts, nil
}

type getRequest struct {
	Capability string `json:"capability"`
	// Contents asks for the contents of an object that is one file,
	// instead of a tar stream.
	Contents bool `json:"contents,omitempty"`
}

// handleGet streams the object as a tar; an error after the first byte is
// reported in the X-Cairn-Error trailer.
func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	var req getRequest
	if !readJSON(w, r, &req) {
		return
	}
	obj, finish, err := s.backend.Read(r.Context(), req.Capability)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	write := obj.WriteTar
	contentType := ContentTar
	if req.Contents {
		entries := obj.Entries()
		if len(entries) != 1 || entries[0].Kind != object.KindFile {
			err := fmt.Errorf("%w: the object holds %d entries; write it to a directory with -o DIR", errNotOneFile, len(entries))
			_ = finish(err)
			writeError(w, http.StatusBadRequest, err)
			return
		}
		write = func(ctx context.Context, w io.Writer) error { return obj.WriteFile(ctx, entries[0].Path, w) }
		contentType = ContentFile
	}
	w.Header().Set("Trailer", errorTrailer)
	w.Header().Set("Content-Type", contentType)
	w.Header().Set(sizeHeader, strconv.FormatInt(contentSize(obj), 10))
	readErr := write(r.Context(), w)
	if err := finish(readErr); err != nil {
		if readErr == nil {
			// The client has every byte, checked: keeping a copy here is
			// the node's business, not a reason to fail the get.
			s.logger.Warn("get: the object was read but this node keeps no copy", "err", err)
			return
		}
		s.logger.Warn("get stream failed", "err", err)
		w.Header().Set(errorTrailer, err.Error())
	}
}

// sizeHeader carries the bytes of file contents a get stream holds, for
// the client's progress bar.
const sizeHeader = "X-Cairn-Content-Size"

// contentSize is the bytes of all files of obj.
func contentSize(obj *object.Object) int64 {
	var size int64
	for _, e := range obj.Entries() {
		size += e.Size
	}
	return size
}

// errNotOneFile: the contents of an object that is not a single file
// were asked for.
var errNotOneFile = errors.New("api: not a single file")

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	objs, err := s.backend.List(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	if objs == nil {
		objs = []node.ObjectInfo{}
	}
	writeJSON(w, objs)
}

// handleVerify runs a restore drill (node/drill.go) and answers its
// outcome; a drill that finds failures is still a 200: they are its
// findings.
func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	var req node.DrillRequest
	if !readJSON(w, r, &req) {
		return
	}
	if len(req.Capabilities) > maxDrillSample {
		writeError(w, http.StatusBadRequest, fmt.Errorf("a drill reads at most %d capabilities, got %d; run several", maxDrillSample, len(req.Capabilities)))
		return
	}
	if req.Sample < 0 || req.Sample > maxDrillSample {
		writeError(w, http.StatusBadRequest, fmt.Errorf("sample must be from 0 (every backed-up object) to %d, got %d", maxDrillSample, req.Sample))
		return
	}
	d, err := s.backend.Verify(r.Context(), req)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, d)
}

// maxDrillSample bounds one drill's sample; --all reads every object.
const maxDrillSample = 100000
