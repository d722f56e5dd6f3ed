package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/internal/logbuf"
	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/api"
	"github.com/cairn-fed/cairn/node/eventlog"
)

const testToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// logBackend serves a real event log and nothing else: the other
// Backend methods are never called by these tests.
type logBackend struct {
	api.Backend
	log *eventlog.Log
}

func (b logBackend) EventLog() *eventlog.Log { return b.log }

// eventServer serves a fresh event log whose subscribers may fall
// buffer events behind; logs collects the log's messages.
func eventServer(t *testing.T, buffer int) (srv *api.Server, log *eventlog.Log, addr string, logs *logbuf.Buffer) {
	t.Helper()
	logs = &logbuf.Buffer{}
	cfg := eventlog.DefaultConfig()
	cfg.SubscriberBuffer = buffer
	log, err := eventlog.Open(t.TempDir(), cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	srv = api.NewServer(logBackend{log: log}, testToken, slog.New(slog.DiscardHandler))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return srv, log, l.Addr().String(), logs
}

// appendEvents appends n events, many at once so that they share syncs.
func appendEvents(t *testing.T, log *eventlog.Log, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan int)
	for range 64 {
		wg.Go(func() {
			for i := range work {
				ev := netstat.Event{At: time.Now(), Type: netstat.EventObjectAdded, Object: fmt.Sprintf("bafy-test-object-%06d", i)}
				if _, err := log.Append(context.Background(), ev); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// openStream starts GET /api/v1/events with the given query.
func openStream(t *testing.T, ctx context.Context, addr, query string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/v1/events?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// readLines reads events until the final line.
func readLines(t *testing.T, sc *bufio.Scanner) ([]netstat.Event, api.StreamEnd) {
	t.Helper()
	var evs []netstat.Event
	for sc.Scan() {
		var end api.StreamEnd
		if err := json.Unmarshal(sc.Bytes(), &end); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if end.End != "" {
			return evs, end
		}
		var ev netstat.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		evs = append(evs, ev)
	}
	t.Fatalf("stream ended without a final line after %d events: %v", len(evs), sc.Err())
	return nil, api.StreamEnd{}
}

// checkSeqs fails unless evs are the events first, first+1, ... in order.
func checkSeqs(t *testing.T, evs []netstat.Event, first uint64) {
	t.Helper()
	for i, ev := range evs {
		if want := first + uint64(i); ev.Seq != want {
			t.Fatalf("event %d of the stream has seq %d, want %d", i, ev.Seq, want)
		}
	}
}

// TestSlowSubscriberIsCutOffAndResumes: a follower that stops reading
// while events pour in is ended once the log's buffer overflows, with a
// final line naming the cursor of the last event it was sent; resuming
// from that cursor gives the rest, every event exactly once.
func TestSlowSubscriberIsCutOffAndResumes(t *testing.T) {
	_, log, addr, logs := eventServer(t, 64)
	appendEvents(t, log, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp := openStream(t, ctx, addr, "follow=true")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != api.ContentEvents {
		t.Fatalf("status %s, content type %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() {
		t.Fatalf("no first event: %v", sc.Err())
	}
	// Stop reading; append, a few at a time (fewer than the buffer, which a
	// reader would keep up with), until the log gives up on this
	// subscriber: the socket buffers in between absorb thousands first.
	total := 3
	for !strings.Contains(logs.String(), "subscriber too slow") {
		if total > 200000 {
			t.Fatalf("the subscriber was not cut off after %d events", total)
		}
		appendEvents(t, log, 32)
		total += 32
	}
	rest, end := readLines(t, sc)
	got := rest
	checkSeqs(t, got, 2)
	if end.End != api.EndTooSlow || end.Error == "" {
		t.Fatalf("final line %+v, want end %q with an explanation", end, api.EndTooSlow)
	}
	last := uint64(1)
	if len(got) > 0 {
		last = got[len(got)-1].Seq
	}
	if end.Resume != netstat.CursorAt(last).String() {
		t.Fatalf("resume cursor %q, want the cursor of the last event sent (%d)", end.Resume, last)
	}
	t.Logf("%d events appended; the subscriber was sent %d before it was cut off", total, last)

	more, end := readLines(t, bufio.NewScanner(openStream(t, ctx, addr, "since="+end.Resume).Body))
	checkSeqs(t, more, last+1)
	if end.End != api.EndCaughtUp || uint64(len(more)) != uint64(total)-last {
		t.Fatalf("resumed stream: %d events then %+v, want the %d left then %q", len(more), end, uint64(total)-last, api.EndCaughtUp)
	}
}

// TestFollowEndsOnShutdown: a follower is told the daemon is stopping,
// with the cursor to resume from, and does not hold the shutdown up.
func TestFollowEndsOnShutdown(t *testing.T) {
	srv, log, addr, _ := eventServer(t, 1024)
	appendEvents(t, log, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := api.NewClient(addr, testToken)
	got := make(chan netstat.Event, 10)
	done := make(chan api.StreamEnd, 1)
	go func() {
		end, err := c.Events(ctx, "", true, func(ev netstat.Event) error { got <- ev; return nil })
		if err != nil {
			t.Errorf("Events: %v", err)
		}
		done <- end
	}()
	<-got
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown took %s with a follower connected", took)
	}
	end := <-done
	if end.End != api.EndShuttingDown || end.Resume != netstat.CursorAt(1).String() {
		t.Errorf("final line %+v, want %q resuming after event 1", end, api.EndShuttingDown)
	}
}

// TestBadEventRequests: malformed cursors and options are refused with a
// 400 that says what is wrong; a cursor ahead of the log too.
func TestBadEventRequests(t *testing.T) {
	_, log, addr, _ := eventServer(t, 16)
	appendEvents(t, log, 2)
	c := api.NewClient(addr, testToken)
	for _, tc := range []struct{ since, want string }{
		{"not-a-cursor", "malformed cursor"},
		{netstat.CursorAt(2).String() + "x", "malformed cursor"},
		{netstat.CursorAt(99).String(), "ahead of the log"},
	} {
		_, err := c.Events(context.Background(), tc.since, false, func(netstat.Event) error { return nil })
		var se *api.StatusError
		if !errors.As(err, &se) || se.Code != http.StatusBadRequest || !strings.Contains(se.Message, tc.want) {
			t.Errorf("since %q: got %v, want a 400 saying %q", tc.since, err, tc.want)
		}
	}
	resp := openStream(t, context.Background(), addr, "follow=sometimes")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("follow=sometimes: %s, want 400", resp.Status)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %s, want 401", resp.Status)
	}
}
