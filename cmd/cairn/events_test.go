package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/repo"
)

// TestEventsMetricsHealth runs a federation of two daemons and checks the
// machine-facing views of it: the event stream survives a subscriber
// killed mid-stream, malformed cursors are refused clearly, /metrics
// needs the token and agrees with cairn status, and cairn health makes
// sense on both members.
func TestEventsMetricsHealth(t *testing.T) {
	owner := startReplNode(t, "library", "library", "eu-west", fastReplication)
	other := startReplNode(t, "school", "school", "us-east", fastReplication)
	federate(t, []*replNode{owner, other})

	t.Run("a subscriber killed mid-stream resumes with every event exactly once", func(t *testing.T) {
		eventsResumeAfterKill(t, owner)
	})
	t.Run("malformed cursors are refused clearly", func(t *testing.T) {
		for _, tc := range []struct{ since, want string }{
			{"garbage", "malformed cursor"},
			{netstat.CursorAt(1).String() + "A", "malformed cursor"},
			{netstat.CursorAt(1 << 40).String(), "ahead of the log"},
		} {
			out, err := cairnResult(t, owner.repo, nil, "events", "--since", tc.since)
			if err == nil || !strings.Contains(out, tc.want) || !strings.Contains(out, "since") {
				t.Errorf("cairn events --since %q: %v\n%s\nwant a failure saying %q", tc.since, err, out, tc.want)
			}
		}
	})
	t.Run("metrics need the token and agree with status", func(t *testing.T) {
		metricsMatchStatus(t, owner)
	})
	t.Run("health on both members", func(t *testing.T) {
		for _, n := range []*replNode{owner, other} {
			checkHealth(t, n, n == owner)
		}
	})
}

// eventsResumeAfterKill follows the stream with a real `cairn events
// --follow --json` while objects are added, kills it with SIGKILL after a
// few events, resumes from the cursor of the last complete line it
// printed, and checks that the two runs together hold every stored event
// exactly once, in order.
func eventsResumeAfterKill(t *testing.T, n *replNode) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before := len(storedLines(t, n.repo))
	first := startFollower(t, ctx, n.repo)
	adds := make(chan error, 1)
	go func() { adds <- addObjects(t, n.repo, 16) }()
	first.waitLines(t, before+3)
	first.kill()
	select {
	case <-adds:
		t.Fatal("every object was added before the follower was killed: not mid-stream")
	default:
	}
	seen := first.lines(t)
	cursor := seen[len(seen)-1].Cursor().String()
	if err := <-adds; err != nil {
		t.Fatal(err)
	}

	second := startFollower(t, ctx, n.repo, "--since", cursor)
	var stored []netstat.Event
	for _, line := range storedLines(t, n.repo) {
		stored = append(stored, decodeEvent(t, line))
	}
	last := stored[len(stored)-1].Seq
	t.Logf("%d events stored before the follower started, %d when it was killed (%d printed), %d after the adds",
		before, seen[len(seen)-1].Seq, len(seen), last)
	second.waitFor(t, func(evs []netstat.Event) bool { return len(evs) > 0 && evs[len(evs)-1].Seq >= last })
	second.kill()
	got := append(seen, second.lines(t)...)
	if uint64(len(got)) < last {
		t.Fatalf("the two followers saw %d events, the log holds %d", len(got), last)
	}
	for i, ev := range got[:last] {
		want := stored[i]
		if ev.Seq != uint64(i+1) || ev.Seq != want.Seq || ev.Type != want.Type || ev.Object != want.Object || ev.Peer != want.Peer {
			t.Fatalf("event %d seen as %d %s, stored as %d %s", i, ev.Seq, ev.Describe(), want.Seq, want.Describe())
		}
	}
	for i := range last {
		if got[i].Seq != i+1 {
			t.Fatalf("gap or duplicate at %d: seq %d", i, got[i].Seq)
		}
	}
}

// storedLines returns the stored events as `cairn events --json` prints them.
func storedLines(t *testing.T, repoDir string) []string {
	t.Helper()
	out := strings.TrimSpace(cairn(t, repoDir, "events", "--json"))
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// addObjects adds count small objects with two replicas, one by one.
func addObjects(t *testing.T, repoDir string, count int) error {
	for i := range count {
		src := filepath.Join(t.TempDir(), fmt.Sprintf("file-%d.txt", i))
		if err := os.WriteFile(src, []byte(strings.Repeat(fmt.Sprintf("entry %d\n", i), 500)), 0o600); err != nil {
			return err
		}
		if out, err := cairnResult(t, repoDir, nil, "add", src, "--replicas", "2"); err != nil {
			return fmt.Errorf("add %d: %v\n%s", i, err, out)
		}
	}
	return nil
}

// follower is a running `cairn events --follow --json`.
type follower struct {
	proc *os.Process
	mu   sync.Mutex
	out  []string // complete lines, guarded by mu
	done chan struct{}
}

func startFollower(t *testing.T, ctx context.Context, repoDir string, args ...string) *follower {
	t.Helper()
	cmd := cairnCmd(ctx, repoDir, append([]string{"events", "--follow", "--json"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f := &follower{proc: cmd.Process, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.read(stdout)
		cmd.Wait()
	}()
	t.Cleanup(f.kill)
	return f
}

// read keeps every complete line; a line cut short by a kill has no
// newline and is dropped, as a subscriber that crashed mid-line would.
func (f *follower) read(r io.Reader) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		f.mu.Lock()
		f.out = append(f.out, strings.TrimSuffix(line, "\n"))
		f.mu.Unlock()
	}
}

func (f *follower) kill() {
	f.proc.Signal(syscall.SIGKILL)
	<-f.done
}

func (f *follower) snapshot() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.out...)
}

func (f *follower) waitLines(t *testing.T, n int) {
	t.Helper()
	waitFor(t, 30*time.Second, fmt.Sprintf("%d events from the follower", n), func() bool { return len(f.snapshot()) >= n })
}

func (f *follower) waitFor(t *testing.T, cond func([]netstat.Event) bool) {
	t.Helper()
	waitFor(t, 30*time.Second, "the resumed follower to catch up", func() bool { return cond(f.lines(t)) })
}

// lines decodes the complete lines printed so far.
func (f *follower) lines(t *testing.T) []netstat.Event {
	t.Helper()
	var out []netstat.Event
	for _, l := range f.snapshot() {
		out = append(out, decodeEvent(t, l))
	}
	return out
}

func decodeEvent(t *testing.T, line string) netstat.Event {
	t.Helper()
	var ev netstat.Event
	if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Seq == 0 {
		t.Fatalf("event line %q: %v", line, err)
	}
	return ev
}

// metricsMatchStatus scrapes /metrics without the token (refused) and
// with it, and waits until its objects by state equal cairn status.
func metricsMatchStatus(t *testing.T, n *replNode) {
	addr, token := repoAPI(t, n.repo)
	if code, _ := scrape(t, addr, ""); code != http.StatusUnauthorized {
		t.Fatalf("/metrics without the token: %d, want 401", code)
	}
	if code, _ := scrape(t, addr, "not-the-token"); code != http.StatusUnauthorized {
		t.Fatalf("/metrics with a wrong token: %d, want 401", code)
	}
	var mismatch string
	waitFor(t, 15*time.Second, "metrics to agree with cairn status", func() bool {
		var ov node.StatusOverview
		cairnJSON(t, n.repo, &ov, "status")
		code, body := scrape(t, addr, token)
		if code != http.StatusOK {
			t.Fatalf("/metrics with the token: %d\n%s", code, body)
		}
		mismatch = ""
		for _, s := range netstat.States() {
			if got, want := sample(body, fmt.Sprintf(`cairn_objects{state=%q}`, s.String())), ov.Tally.Count(s); got != want {
				mismatch += fmt.Sprintf("%s: metrics %d, status %d; ", s, got, want)
			}
		}
		return mismatch == "" && ov.Tally.Total() > 0
	})
	_, body := scrape(t, addr, token)
	for _, name := range []string{"cairn_objects_under_replicated", "cairn_repair_queue", "cairn_attestations_pending", `cairn_repairs_total{result="ok"}`,
		"cairn_tombstone_propagation_lag_seconds", `cairn_peers_connected{operator="school",region="us-east"}`,
		"cairn_storage_used_bytes", "cairn_storage_free_bytes", "cairn_roster_version", `cairn_p2p_bytes_total{direction="out"}`} {
		if sample(body, name) < 0 {
			t.Errorf("/metrics has no sample %s", name)
		}
	}
	if got := sample(body, `cairn_peers_connected{operator="school",region="us-east"}`); got != 1 {
		t.Errorf("peers connected of school in us-east: %d, want 1", got)
	}
	if !regexp.MustCompile(`cairn_challenges_total\{operator="school",peer="[^"]+",region="us-east",result="passed"\} [1-9]`).MatchString(body) {
		t.Errorf("no passed challenges of school's node in /metrics:\n%s", grepLines(body, "cairn_challenges_total"))
	}
}

// scrape gets /metrics with token ("" sends none).
func scrape(t testing.TB, addr, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// sample returns the integer value of the sample named exactly name
// (with its labels), or -1 when there is none.
func sample(body, name string) int {
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return -1
			}
			return int(f)
		}
	}
	return -1
}

func grepLines(body, prefix string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// checkHealth checks cairn health --json and its human form on one member
// of the two-member federation; the owner has challenged the other's
// copies by now.
func checkHealth(t *testing.T, n *replNode, owner bool) {
	var h netstat.Health
	waitFor(t, 15*time.Second, "health to show challenges passed", func() bool {
		cairnJSON(t, n.repo, &h, "health")
		return h.ChallengesPassed > 0 || !owner
	})
	switch {
	case h.Node != n.id.PeerID:
		t.Errorf("health node %q, want %q", h.Node, n.id.PeerID)
	case h.MembersTotal != 2 || h.MembersOnline != 2:
		t.Errorf("health: %d of %d members online, want 2 of 2", h.MembersOnline, h.MembersTotal)
	case h.RosterVersion < 2:
		t.Errorf("roster version %d, want at least 2 (created, then one admission)", h.RosterVersion)
	case h.StorageUsed == 0 || h.StorageFree == 0:
		t.Errorf("storage %d used, %d free: both should be above 0 after adds", h.StorageUsed, h.StorageFree)
	case h.TombstonesPending != 0 || h.RepairQueue < 0:
		t.Errorf("health %+v: nothing pending", h)
	case time.Since(h.AsOf) > time.Minute || h.AsOf.After(time.Now()):
		t.Errorf("health as_of %s is not now", h.AsOf)
	}
	// On a loaded machine a 1 s challenge can time out now and then, and
	// two in a row flag the peer: then the flag must say so plainly.
	for _, f := range h.Flagged {
		if f.Flag != netstat.FlagFailingChallenges || f.PeerID == n.id.PeerID || f.Reason == "" || h.ChallengesFailed < 2 {
			t.Errorf("flagged %+v with %d challenges failed: want only the other member, for failing challenges, with a reason", f, h.ChallengesFailed)
		}
	}
	raw := cairn(t, n.repo, "health", "--json")
	for _, field := range []string{"node", "members_online", "members_total", "storage_used_bytes", "storage_free_bytes",
		"challenges_passed", "challenges_failed", "repair_queue", "tombstones_pending", "flagged", "roster_version", "as_of"} {
		if !strings.Contains(raw, `"`+field+`":`) {
			t.Errorf("cairn health --json lacks %q:\n%s", field, raw)
		}
	}
	if human := cairn(t, n.repo, "health"); !strings.Contains(human, "members: 2 of 2 online") || !strings.Contains(human, "flagged peers: ") {
		t.Errorf("cairn health:\n%s", human)
	}
}

// repoAPI returns the API address and token of the daemon of repoDir.
func repoAPI(t testing.TB, repoDir string) (addr, token string) {
	t.Helper()
	r, err := repo.Open(repoDir)
	if err != nil {
		t.Fatal(err)
	}
	if addr, err = r.APIAddr(); err != nil {
		t.Fatal(err)
	}
	if token, err = r.Token(); err != nil {
		t.Fatal(err)
	}
	return addr, token
}
