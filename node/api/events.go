package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/eventlog"
)

// The event stream: GET /api/v1/events?since=CURSOR&follow=true answers
// JSON lines, one event per line with its "cursor", in order. Without
// follow it ends after the last stored event; with follow it goes on
// with new events as they are stored. The last line is a StreamEnd: why
// the stream ended and the cursor to resume from. A subscriber that
// reads too slowly falls behind the log's bounded buffer and gets a
// StreamEnd saying so, with the cursor of the last event it was sent;
// asking again from there loses and repeats nothing.

// ContentEvents is the media type of the event stream.
const ContentEvents = "application/x-ndjson"

// streamWriteTimeout ends a stream whose subscriber reads nothing at all
// for this long: no line, not even the final one, can reach it.
const streamWriteTimeout = 30 * time.Second

// EventsBackend serves the event stream from the node's event log.
type EventsBackend interface {
	EventLog() *eventlog.Log
}

var _ EventsBackend = (*node.Node)(nil)

// StreamEnd is the last line of an event stream.
type StreamEnd struct {
	// End says why the stream ended: EndCaughtUp, EndTooSlow,
	// EndShuttingDown or EndFailed.
	End string `json:"end"`
	// Resume is the cursor of the last event sent (or the since of the
	// request when none was): ask again with since=Resume to continue.
	Resume string `json:"resume"`
	// Error says what went wrong, for people.
	Error string `json:"error,omitempty"`
}

// Reasons a stream ends.
const (
	EndCaughtUp     = "caught_up"     // without follow: every stored event was sent
	EndTooSlow      = "too_slow"      // the subscriber fell behind; resume from Resume
	EndShuttingDown = "shutting_down" // the daemon is stopping
	EndFailed       = "failed"        // reading the log failed; Error says why
)

// monitorRoutes registers the event stream, cairn health and /metrics.
// It runs once the http.Server exists: following streams end when it
// shuts down, instead of holding the shutdown up.
func (s *Server) monitorRoutes(mux *routes) {
	stop := make(chan struct{})
	var once sync.Once // Shutdown may be called more than once
	s.srv.RegisterOnShutdown(func() { once.Do(func() { close(stop) }) })
	mux.HandleFunc("GET /api/v1/events", func(w http.ResponseWriter, r *http.Request) { s.handleEvents(w, r, stop) })
	s.metricsRoutes(mux)
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
	var log *eventlog.Log
	if eb, ok := s.backend.(EventsBackend); ok {
		log = eb.EventLog()
	}
	if log == nil {
		writeError(w, http.StatusServiceUnavailable, errors.New("this node keeps no event stream"))
		return
	}
	after, follow, err := eventsQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if err := log.CheckCursor(after); err != nil {
		writeError(w, cursorStatus(err), fmt.Errorf("since: %w", err))
		return
	}
	w.Header().Set("Content-Type", ContentEvents)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	st := &eventStream{w: w, rc: http.NewResponseController(w), resume: after}
	var end StreamEnd
	var ok bool
	if follow {
		end, ok = st.follow(r.Context(), log, stop)
	} else {
		end, ok = st.replay(r.Context(), log)
	}
	if ok {
		st.writeLine(end, true)
	}
}

// eventsQuery reads since and follow.
func eventsQuery(q url.Values) (after netstat.Cursor, follow bool, err error) {
	raw := q.Get("since")
	if after, err = netstat.ParseCursor(raw); err != nil {
		if len(raw) > 64 {
			raw = raw[:64] + "..."
		}
		return after, false, fmt.Errorf("since=%q is not a cursor of this event stream (%w); pass the \"cursor\" of the last event received, or leave since out to start at the oldest event", raw, err)
	}
	if f := q.Get("follow"); f != "" {
		if follow, err = strconv.ParseBool(f); err != nil {
			return after, false, fmt.Errorf("follow=%q: want true or false", f)
		}
	}
	return after, follow, nil
}

// cursorStatus says whose fault an unusable cursor is.
func cursorStatus(err error) int {
	switch {
	case errors.Is(err, eventlog.ErrCursorAhead):
		return http.StatusBadRequest
	case errors.Is(err, eventlog.ErrCursorExpired):
		return http.StatusGone
	case errors.Is(err, eventlog.ErrClosed):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// eventStream writes one response's lines.
type eventStream struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	resume netstat.Cursor // after the last event written
}

// replay sends the stored events after the cursor; ok is false when the
// subscriber went away.
func (st *eventStream) replay(ctx context.Context, log *eventlog.Log) (end StreamEnd, ok bool) {
	for ev, err := range log.Since(ctx, st.resume) {
		if err != nil {
			return st.ended(err), ctx.Err() == nil
		}
		if !st.writeLine(ev, false) {
			return StreamEnd{}, false
		}
		st.resume = ev.Cursor()
	}
	return st.end(EndCaughtUp, ""), true
}

// follow sends the events after the cursor as they are stored, until the
// subscriber leaves or falls behind, or the log or the server stops.
func (st *eventStream) follow(ctx context.Context, log *eventlog.Log, stop <-chan struct{}) (end StreamEnd, ok bool) {
	sub := log.Follow(ctx, st.resume)
	defer sub.Close()
	for {
		select {
		case ev, open := <-sub.Events():
			if !open {
				return st.ended(sub.Err()), ctx.Err() == nil
			}
			if errors.Is(sub.Err(), eventlog.ErrSubscriberTooSlow) {
				return st.ended(eventlog.ErrSubscriberTooSlow), true // what is buffered is not sent
			}
			if !st.writeLine(ev, len(sub.Events()) == 0) {
				return StreamEnd{}, false
			}
			st.resume = ev.Cursor()
		case <-stop:
			return st.end(EndShuttingDown, "the daemon is shutting down"), true
		case <-ctx.Done():
			return StreamEnd{}, false
		}
	}
}

// ended explains why reading ended.
func (st *eventStream) ended(err error) StreamEnd {
	switch {
	case errors.Is(err, eventlog.ErrSubscriberTooSlow):
		return st.end(EndTooSlow, "this subscriber read too slowly and fell behind the node's buffer; ask again with since set to the resume cursor")
	case err == nil, errors.Is(err, eventlog.ErrClosed):
		return st.end(EndShuttingDown, "the node is stopping")
	}
	return st.end(EndFailed, err.Error())
}

func (st *eventStream) end(why, msg string) StreamEnd {
	return StreamEnd{End: why, Resume: st.resume.String(), Error: msg}
}

// writeLine writes v as one JSON line, flushing when asked; false when the
// subscriber cannot be written to any more.
func (st *eventStream) writeLine(v any, flush bool) bool {
	line, err := json.Marshal(v)
	if err != nil {
		return false
	}
	_ = st.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout)) // unsupported only by test recorders
	if _, err := st.w.Write(append(line, '\n')); err != nil {
		return false
	}
	return !flush || st.rc.Flush() == nil
}

// Events reads the event stream after the cursor since ("" reads from the
// oldest kept event) and calls each for every event, in order. Without
// follow it returns once every stored event was read; with follow it
// goes on until ctx ends or the daemon ends the stream. It returns the
// stream's last line, which says why it ended and where to resume. An
// error means the daemon refused the request (a malformed or expired
// cursor), the stream broke off, ctx ended or each failed; the cursor of
// the last event handed to each is then the place to resume.
func (c *Client) Events(ctx context.Context, since string, follow bool, each func(netstat.Event) error) (StreamEnd, error) {
	q := url.Values{}
	if since != "" {
		q.Set("since", since)
	}
	if follow {
		q.Set("follow", "true")
	}
	req, err := c.request(ctx, http.MethodGet, "/api/v1/events?"+q.Encode(), nil)
	if err != nil {
		return StreamEnd{}, err
	}
	resp, err := c.send(req)
	if err != nil {
		return StreamEnd{}, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 2*eventlog.MaxEventBytes)
	last := since
	for sc.Scan() {
		end, ev, err := decodeLine(sc.Bytes())
		if err != nil {
			return StreamEnd{}, fmt.Errorf("event stream after cursor %q: %w", last, err)
		}
		if end.End != "" {
			return end, nil
		}
		if err := each(ev); err != nil {
			return StreamEnd{}, err
		}
		last = ev.Cursor().String()
	}
	if err := ctx.Err(); err != nil {
		return StreamEnd{}, err
	}
	err = sc.Err()
	if err == nil {
		err = errors.New("no final line")
	}
	return StreamEnd{}, fmt.Errorf("event stream broke off after cursor %q: %w", last, err)
}

// decodeLine decodes one line of the stream: the final StreamEnd (End
// set) or an event.
func decodeLine(line []byte) (StreamEnd, netstat.Event, error) {
	var end StreamEnd
	if err := json.Unmarshal(line, &end); err != nil {
		return StreamEnd{}, netstat.Event{}, fmt.Errorf("decode line: %w", err)
	}
	if end.End != "" {
		return end, netstat.Event{}, nil
	}
	var ev netstat.Event
	if err := json.Unmarshal(line, &ev); err != nil {
		return StreamEnd{}, netstat.Event{}, err
	}
	return StreamEnd{}, ev, nil
}
