package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/repo"
)

// The recovery benchmarks of issue 14 start real daemons on loopback and
// measure through the CLI, as users run it. They take about 10 minutes on
// two cores, so they run only when asked:
//
//	CAIRN_BENCH_RECOVER=1 go test ./cmd/cairn -run 'TestBench(Recover|CatalogCost)' -v -timeout 60m
//
// CAIRN_BENCH_RUNS sets the runs of each case (default 3);
// CAIRN_BENCH_PROFILE=DIR saves the recovering daemon's CPU profile and
// execution trace over 8 s of each recovery there.
const benchRecoverEnv = "CAIRN_BENCH_RECOVER"

func benchRuns(t *testing.T) int {
	t.Helper()
	if os.Getenv(benchRecoverEnv) != "1" {
		t.Skipf("set %s=1 to run the recovery benchmarks (real daemons, about 10 minutes)", benchRecoverEnv)
	}
	runs, err := strconv.Atoi(os.Getenv("CAIRN_BENCH_RUNS"))
	if err != nil || runs < 1 {
		return 3
	}
	return runs
}

// benchFiles writes count files of size random bytes each under a new
// directory and returns their paths.
func benchFiles(t testing.TB, count, size int) []string {
	t.Helper()
	dir := t.TempDir()
	paths := make([]string, count)
	for i := range paths {
		paths[i] = filepath.Join(dir, fmt.Sprintf("file-%03d.bin", i))
		if err := os.WriteFile(paths[i], sampleData(t, size, fmt.Sprint("file ", i)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

// addEach runs one `cairn add` per file, as an owner adding files one at
// a time, and returns how long each process took.
func addEach(t testing.TB, owner *replNode, paths []string) []time.Duration {
	t.Helper()
	took := make([]time.Duration, len(paths))
	for i, p := range paths {
		start := time.Now()
		cairn(t, owner.repo, "add", p, "--replicas", "3")
		took[i] = time.Since(start)
	}
	return took
}

// waitOwnedBackedUp waits until the owner's node counts want owned objects
// (catalog versions included) and every one of them backed up.
func waitOwnedBackedUp(t testing.TB, owner *replNode, want int) {
	t.Helper()
	c := apiClient(t, owner.repo)
	waitFor(t, 3*time.Minute, fmt.Sprintf("%d objects backed up", want), func() bool {
		ov, err := c.StatusAll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		backed := 0
		for _, o := range ov.Objects {
			if o.State == netstat.StateBackedUp {
				backed++
			}
		}
		return backed >= want && backed == len(ov.Objects)
	})
}

// waitCatalogWritten waits until the owner's catalog holds every change
// and returns how long that took.
func waitCatalogWritten(t testing.TB, owner *replNode, timeout time.Duration) time.Duration {
	t.Helper()
	c := apiClient(t, owner.repo)
	start := time.Now()
	waitFor(t, timeout, "the catalog to take in every change", func() bool {
		info, err := c.Catalog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return info.Version > 0 && !info.Pending
	})
	return time.Since(start)
}

// catalogVersion is one version of an owner's catalog as the CLI shows it.
type catalogVersion struct {
	Seq    int
	CID    string
	Stored int64 // bytes a holder stores for it; 0 if no holder lists it
}

var catalogVersionName = regexp.MustCompile(`^\(catalog version (\d+)\)$`)

// catalogVersions lists the catalog versions n records (the pages of
// `cairn status` name them; `--all` does not), with the bytes a holder among holders stores for
// each (`cairn ls` there), waiting up to 30 s for the holders to have them.
func catalogVersions(t testing.TB, n *replNode, holders []*replNode) []catalogVersion {
	t.Helper()
	var ov node.StatusOverview
	cairnJSON(t, n.repo, &ov, "status", "--limit", "1000")
	var out []catalogVersion
	for _, o := range ov.Objects {
		if m := catalogVersionName.FindStringSubmatch(o.Name); m != nil {
			seq, _ := strconv.Atoi(m[1])
			out = append(out, catalogVersion{Seq: seq, CID: o.CID})
		}
	}
	slices.SortFunc(out, func(a, b catalogVersion) int { return a.Seq - b.Seq })
	if len(holders) == 0 {
		return out
	}
	eventually(30*time.Second, func() bool {
		stored := map[string]int64{}
		for _, h := range holders {
			var objs []node.ObjectInfo
			cairnJSON(t, h.repo, &objs, "ls")
			for _, o := range objs {
				stored[o.ID] = o.StoredBytes
			}
		}
		missing := 0
		for i := range out {
			out[i].Stored = stored[out[i].CID]
			if out[i].Stored == 0 {
				missing++
			}
		}
		return missing == 0
	})
	return out
}

// checkpointsWritten reads the owner daemon's log: the sequence numbers of
// the catalog versions it wrote, and which were checkpoints.
func checkpointsWritten(log string) map[int]bool {
	re := regexp.MustCompile(`catalog version written.*version=(\d+) checkpoint=(true|false)`)
	out := map[int]bool{}
	for _, m := range re.FindAllStringSubmatch(log, -1) {
		seq, _ := strconv.Atoi(m[1])
		out[seq] = m[2] == "true"
	}
	return out
}

// walkLength is how many versions a walk from head back to its latest
// checkpoint reads.
func walkLength(written map[int]bool, head int) int {
	for seq := head; seq > 0; seq-- {
		if written[seq] {
			return head - seq + 1
		}
	}
	return 0
}

// recoverResult is what one recovery run measured.
type recoverResult struct {
	wall        time.Duration // `cairn recover --paper-key -`, the whole process
	restored    int
	unreachable int
	head        uint64 // the catalog version recovery found
	walked      int    // versions the recovered node pinned, up to the head
	expected    int    // versions from the head back to its checkpoint, by the owner's log
	equal       bool   // `cairn ls` of owned objects equal before and after
	versions    []catalogVersion
}

// recoverOnce builds a federation of four operators, lets the owner add
// files one `cairn add` at a time, kills the owner's node (SIGKILL,
// repository removed), admits a fresh node of the owner's operator, and
// times `cairn recover --paper-key -` there.
func recoverOnce(t *testing.T, files []string) recoverResult {
	settings := recoverySettings() // catalog.interval 500ms
	nodes := ownersFederation(t, settings)
	founder, owner, holders := nodes[0], nodes[1], []*replNode{nodes[0], nodes[2], nodes[3]}
	addEach(t, owner, files)
	waitCatalogWritten(t, owner, time.Minute)
	var res recoverResult
	res.versions = catalogVersions(t, owner, holders)
	waitOwnedBackedUp(t, owner, len(files)+len(res.versions))
	before := ownedListing(t, owner.repo)
	var paper struct {
		PaperKey string `json:"paper_key"`
	}
	cairnJSON(t, owner.repo, &paper, "key", "export")
	written := checkpointsWritten(owner.d.output())

	owner.d.kill()
	if err := os.RemoveAll(owner.repo); err != nil {
		t.Fatal(err)
	}
	home := startReplNode(t, "new-home", "library", "eu-west", settings)
	admit(t, founder.fedNode, home.fedNode, home.operator, home.region)
	waitFor(t, 30*time.Second, "the new node to learn the roster", func() bool { return len(members(t, home.fedNode)) == 5 })

	profiled := profileDuring(t, home, len(files))
	start := time.Now()
	out, err := cairnResult(t, home.repo, strings.NewReader(paper.PaperKey+"\n"), "recover", "--paper-key", "-", "--json")
	res.wall = time.Since(start)
	<-profiled
	if err != nil {
		t.Fatalf("recover: %v\n%s", err, out)
	}
	var report node.RecoverReport
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("recover --json: %v\n%s", err, out)
	}
	res.restored, res.unreachable, res.head = len(report.Restored), len(report.Unreachable), report.CatalogVersion
	res.equal = maps.Equal(ownedListing(t, home.repo), before)
	for _, v := range catalogVersions(t, home, nil) {
		if uint64(v.Seq) <= report.CatalogVersion {
			res.walked++
		}
	}
	res.expected = walkLength(written, int(report.CatalogVersion))
	return res
}

// profileDuring saves the recovering daemon's CPU profile and execution
// trace over the next 8 s into the directory CAIRN_BENCH_PROFILE names,
// when it is set; the channel is closed when both are saved.
func profileDuring(t testing.TB, n *replNode, files int) <-chan struct{} {
	t.Helper()
	dir := os.Getenv("CAIRN_BENCH_PROFILE")
	if dir == "" {
		done := make(chan struct{})
		close(done)
		return done
	}
	var saved []<-chan struct{}
	for _, kind := range []string{"profile", "trace"} {
		path := filepath.Join(dir, fmt.Sprintf("recover-%d-%s-%d.out", files, kind, time.Now().Unix()))
		saved = append(saved, saveDaemonProfile(t, n.repo, kind, 8, path))
	}
	done := make(chan struct{})
	go func() {
		for _, s := range saved {
			<-s
		}
		close(done)
	}()
	return done
}

// saveDaemonProfile asks the daemon of repoDir for a runtime profile of
// kind ("profile" for CPU, "trace") over the next seconds and saves it at
// path; the channel is closed when it is saved or has failed.
func saveDaemonProfile(t testing.TB, repoDir, kind string, seconds int, path string) <-chan struct{} {
	t.Helper()
	r, err := repo.Open(repoDir)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := r.APIAddr()
	if err != nil {
		t.Fatal(err)
	}
	token, err := r.Token()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", addr, kind, seconds), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("%s: %v", kind, err)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if err := os.WriteFile(path, body, 0o600); err != nil {
			t.Error(err)
		}
		t.Logf("saved %s", path)
	}()
	return done
}

// TestBenchRecover times `cairn recover --paper-key -` on a fresh node
// for an owner who had 10 or 200 small files, or 4 files of 8 MiB.
func TestBenchRecover(t *testing.T) {
	runs := benchRuns(t)
	cases := []struct {
		name        string
		count, size int
	}{
		{"10 files of 1 KiB", 10, 1 << 10},
		{"200 files of 1 KiB", 200, 1 << 10},
		{"4 files of 8 MiB", 4, 8 << 20},
	}
	var rows []string
	for _, c := range cases {
		var walls []time.Duration
		var notes []string
		for i := range runs {
			t.Run(fmt.Sprintf("%s/run %d", c.name, i+1), func(t *testing.T) {
				r := recoverOnce(t, benchFiles(t, c.count, c.size))
				walls = append(walls, r.wall)
				notes = append(notes, fmt.Sprintf("restored %d, unreachable %d, ls equal %t, head v%d, walk read %d (log: %d), versions written %d (%s)",
					r.restored, r.unreachable, r.equal, r.head, r.walked, r.expected, len(r.versions), versionSizes(r.versions)))
				t.Logf("%s: recover %s; %s", c.name, r.wall.Round(time.Millisecond), notes[len(notes)-1])
			})
		}
		rows = append(rows, fmt.Sprintf("| %s | %s |\n%s", c.name, spread(walls), "    "+strings.Join(notes, "\n    ")))
	}
	fmt.Printf("\nRecovery, `cairn recover --paper-key -` wall time (median, min-max, runs):\n%s\n", strings.Join(rows, "\n"))
}

// catalogCostResult is what one run of 200 sequential adds measured.
type catalogCostResult struct {
	adds       []time.Duration
	total      time.Duration
	firstWrite time.Duration // first add → not pending (idle node)
	lastWrite  time.Duration // last add of the burst → not pending
	versions   []catalogVersion
}

// catalogCostOnce times count sequential `cairn add`s of small files on
// the owner's node of a four-operator federation with the catalog
// written at most every interval. One add comes first, on its own, and
// its catalog version is waited for unless the interval is longer than
// the run.
func catalogCostOnce(t *testing.T, interval string, count int) catalogCostResult {
	settings := maps.Clone(fastReplication)
	settings["catalog.interval"] = strconv.Quote(interval)
	nodes := ownersFederation(t, settings)
	owner, holders := nodes[1], []*replNode{nodes[0], nodes[2], nodes[3]}
	files := benchFiles(t, count+1, 1<<10)
	deferred := interval == "24h"
	var res catalogCostResult
	addEach(t, owner, files[:1])
	if !deferred {
		res.firstWrite = waitCatalogWritten(t, owner, 2*time.Minute)
	}
	start := time.Now()
	res.adds = addEach(t, owner, files[1:])
	res.total = time.Since(start)
	if !deferred {
		res.lastWrite = waitCatalogWritten(t, owner, 3*time.Minute)
	}
	res.versions = catalogVersions(t, owner, holders)
	return res
}

// TestBenchCatalogCost measures what the catalog costs an owner who adds
// 200 small files one `cairn add` at a time: the versions written and
// their stored bytes, and the time of the adds with the default interval
// (1m), with the catalog effectively deferred (24h), and with the 500ms
// of the recovery runs, the three run in turn.
func TestBenchCatalogCost(t *testing.T) {
	runs := benchRuns(t)
	const count = 200
	intervals := []string{"1m", "24h", "500ms"}
	got := map[string][]catalogCostResult{}
	for i := range runs {
		for _, iv := range intervals {
			t.Run(fmt.Sprintf("interval %s/run %d", iv, i+1), func(t *testing.T) {
				r := catalogCostOnce(t, iv, count)
				got[iv] = append(got[iv], r)
				t.Logf("interval %s: %d adds in %s (median add %s); first add → written %s, last add → written %s; %d versions (%s)",
					iv, count, r.total.Round(time.Millisecond), median(r.adds).Round(time.Millisecond),
					r.firstWrite.Round(time.Millisecond), r.lastWrite.Round(time.Millisecond), len(r.versions), versionSizes(r.versions))
			})
		}
	}
	fmt.Printf("\nCatalog cost, %d sequential `cairn add`s of 1 KiB (median, min-max, runs):\n", count)
	for _, iv := range intervals {
		var totals, medians, first, last []time.Duration
		var versions []string
		for _, r := range got[iv] {
			totals, medians = append(totals, r.total), append(medians, median(r.adds))
			first, last = append(first, r.firstWrite), append(last, r.lastWrite)
			versions = append(versions, fmt.Sprintf("%d versions: %s", len(r.versions), versionSizes(r.versions)))
		}
		fmt.Printf("| %s | all adds %s | one add %s | first add → written %s | last add → written %s |\n    %s\n",
			iv, spread(totals), spread(medians), spread(first), spread(last), strings.Join(versions, "\n    "))
	}
}

// versionSizes summarises the stored bytes of catalog versions: total,
// smallest, largest, and the last.
func versionSizes(vs []catalogVersion) string {
	if len(vs) == 0 {
		return "none"
	}
	var total, lo, hi int64
	lo = vs[0].Stored
	for _, v := range vs {
		total += v.Stored
		lo, hi = min(lo, v.Stored), max(hi, v.Stored)
	}
	return fmt.Sprintf("stored %d B in all, %d-%d B each, v%d %d B", total, lo, hi, vs[len(vs)-1].Seq, vs[len(vs)-1].Stored)
}

// spread is "median (min-max; runs)" in seconds.
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	each := make([]string, len(ds))
	for i, d := range ds {
		each[i] = fmt.Sprintf("%.3f", d.Seconds())
	}
	return fmt.Sprintf("%.3f s (%.3f-%.3f; %s)", median(ds).Seconds(), s[0].Seconds(), s[len(s)-1].Seconds(), strings.Join(each, ", "))
}
