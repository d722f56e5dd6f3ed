package pins

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxBodyBytes bounds a request body: a Pin's fields fit well within it.
const maxBodyBytes = 128 << 10

// pinStatus is the spec's PinStatus object.
type pinStatus struct {
	RequestID string            `json:"requestid"`
	Status    Status            `json:"status"`
	Created   time.Time         `json:"created"`
	Pin       Pin               `json:"pin"`
	Delegates []string          `json:"delegates"`
	Info      map[string]string `json:"info,omitempty"`
}

type pinResults struct {
	Count   int         `json:"count"`
	Results []pinStatus `json:"results"`
}

// Handler serves the Pinning Service API at /pins. Every request needs
// "Authorization: Bearer TOKEN" with a token of this service; a user sees
// and changes only its own requests.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pins", s.authed(s.handleList))
	mux.HandleFunc("POST /pins", s.authed(s.handleAdd))
	mux.HandleFunc("GET /pins/{requestid}", s.authed(s.handleGet))
	mux.HandleFunc("POST /pins/{requestid}", s.authed(s.handleReplace))
	mux.HandleFunc("DELETE /pins/{requestid}", s.authed(s.handleRemove))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeFailure(w, http.StatusNotFound, "NOT_FOUND", "this listener serves the IPFS Pinning Service API at /pins only")
	})
	return mux
}

func (s *Service) authed(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			writeFailure(w, http.StatusUnauthorized, "UNAUTHORIZED", "send Authorization: Bearer TOKEN (make one with `cairn pins token create --name USER`)")
			return
		}
		user, err := s.user(strings.TrimSpace(token))
		if err != nil {
			writeFailure(w, http.StatusUnauthorized, "UNAUTHORIZED", "the access token is not valid here")
			return
		}
		h(w, r, user)
	}
}

func (s *Service) handleAdd(w http.ResponseWriter, r *http.Request, user string) {
	pin, ok := readPin(w, r)
	if !ok {
		return
	}
	req, err := s.Add(r.Context(), user, pin)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, s.view(req, req.Status))
}

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request, user string) {
	req, st, err := s.Get(r.Context(), user, r.PathValue("requestid"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.view(req, st))
}

func (s *Service) handleReplace(w http.ResponseWriter, r *http.Request, user string) {
	pin, ok := readPin(w, r)
	if !ok {
		return
	}
	req, err := s.Replace(r.Context(), user, r.PathValue("requestid"), pin)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, s.view(req, req.Status))
}

func (s *Service) handleRemove(w http.ResponseWriter, r *http.Request, user string) {
	if err := s.Remove(r.Context(), user, r.PathValue("requestid")); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Service) handleList(w http.ResponseWriter, r *http.Request, user string) {
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		writeFailure(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
		return
	}
	reqs, statuses, count := s.List(r.Context(), user, f)
	out := pinResults{Count: count, Results: []pinStatus{}}
	for i, req := range reqs {
		out.Results = append(out.Results, s.view(req, statuses[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

// view is the spec's PinStatus of req, whose status now is st.
func (s *Service) view(req Request, st Status) pinStatus {
	v := pinStatus{RequestID: req.ID, Status: st, Created: req.Created, Pin: req.Pin, Delegates: s.backend.Delegates()}
	if v.Delegates == nil {
		v.Delegates = []string{}
	}
	switch {
	case req.Error != "":
		v.Info = map[string]string{"status_details": req.Error}
	case st == Pinning && req.Object != "":
		v.Info = map[string]string{"status_details": "fetched; replicating until the owner's copies are verified on distinct operators", "cairn_object": req.Object}
	case st == Pinned:
		v.Info = map[string]string{"cairn_object": req.Object}
	}
	return v
}

func readPin(w http.ResponseWriter, r *http.Request) (Pin, bool) {
	var pin Pin
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes))
	if err := dec.Decode(&pin); err != nil {
		writeFailure(w, http.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf("the body is not a Pin object: %v", err))
		return Pin{}, false
	}
	return pin, true
}

// parseFilter reads GET /pins's query.
func parseFilter(q map[string][]string) (Filter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := Filter{Name: get("name"), Match: get("match"), Limit: defaultLimit, Statuses: []Status{Pinned}}
	if c := get("cid"); c != "" {
		f.CIDs = strings.Split(c, ",")
		if len(f.CIDs) > maxCIDFilter {
			return Filter{}, fmt.Errorf("cid: at most %d CIDs, got %d", maxCIDFilter, len(f.CIDs))
		}
	}
	switch f.Match {
	case "", "exact", "iexact", "partial", "ipartial":
	default:
		return Filter{}, fmt.Errorf("match: %q is not exact, iexact, partial or ipartial", f.Match)
	}
	if st := get("status"); st != "" {
		f.Statuses = nil
		for _, one := range strings.Split(st, ",") {
			s, ok := parseStatus(one)
			if !ok {
				return Filter{}, fmt.Errorf("status: %q is not queued, pinning, pinned or failed", one)
			}
			f.Statuses = append(f.Statuses, s)
		}
	}
	for k, into := range map[string]*time.Time{"before": &f.Before, "after": &f.After} {
		if v := get(k); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return Filter{}, fmt.Errorf("%s: %q is not an RFC 3339 time", k, v)
			}
			*into = t
		}
	}
	if v := get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return Filter{}, fmt.Errorf("limit: must be a whole number from 1 to %d, got %q", maxLimit, v)
		}
		f.Limit = n
	}
	if v := get("meta"); v != "" {
		if err := json.Unmarshal([]byte(v), &f.Meta); err != nil {
			return Filter{}, fmt.Errorf("meta: not a JSON object of strings: %v", err)
		}
	}
	return f, nil
}

func (s *Service) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeFailure(w, http.StatusNotFound, "NOT_FOUND", err.Error())
	case errors.Is(err, ErrBadRequest):
		writeFailure(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
	case errors.Is(err, ErrTooMany):
		writeFailure(w, http.StatusTooManyRequests, "TOO_MANY_PENDING_REQUESTS", err.Error())
	default:
		s.logger.Warn("pinning service request failed", "err", err)
		writeFailure(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error())
	}
}

// writeFailure writes the spec's Failure object.
func writeFailure(w http.ResponseWriter, status int, reason, details string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"reason": reason, "details": details}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
