package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/internal/kubotest"
	"github.com/cairn-fed/cairn/node"
)

// The data-path benchmark of issue 18 measures what a user waits for, as
// the user runs it, beside real Kubo in the same run:
//
//   - add: `cairn add FILE` of 1 GiB to a running daemon with a fresh
//     repository, beside Kubo's offline `ipfs add FILE` into a fresh
//     repository;
//   - restore: `cairn get CAPABILITY -o OUT` of that 1 GiB on a member that
//     holds nothing, from three members holding it, beside `ipfs cat CID >
//     OUT` on a fresh Kubo daemon connected to one Kubo daemon holding it;
//   - small: `cairn add --each DIR` of 10,000 files of 4 KiB, one object
//     each, to one of 4 daemons, until every object is backed_up, beside
//     Kubo's offline `ipfs add -r DIR` of the folder.
//
// It takes several minutes and a few GB of disk, so it runs only when
// asked:
//
//	CAIRN_BENCH_DATAPATH=1 go test ./cmd/cairn -run '^$' -bench DataPath -benchtime 3x -timeout 60m
//
// CAIRN_BENCH_MIB sets the large file's size (default 1024),
// CAIRN_BENCH_FILES the number of small files (default 10,000; 0 leaves
// them out) and
// CAIRN_BENCH_PROFILE=DIR saves the daemons' CPU profiles of the first
// iteration there.
const benchDataPathEnv = "CAIRN_BENCH_DATAPATH"

// dataOps are the measured operations, each Kubo figure before the Cairn
// figure it compares with.
var dataOps = []string{"kubo-add", "cairn-add", "kubo-cat", "cairn-get", "kubo-add-files", "cairn-add-each", "cairn-backed-up"}

// dataPath is what every iteration shares: the sources and the federation
// that holds the large file.
type dataPath struct {
	size, files int
	file, dir   string // the large file, the folder of small files
	profile     string
	holders     []*replNode // hold the large object on three operators
	capability  string
	kuboHolder  *kubotest.Repo
	kuboSwarm   string
	kuboCID     string
}

// BenchmarkDataPath reports, per operation, the median MB/s (10^6 bytes of
// data per second of the command's wall time) or objects/s, the median
// CPU seconds of the command and its daemon together, and the highest
// peak resident memory of the daemon (of the command, offline).
func BenchmarkDataPath(b *testing.B) {
	if os.Getenv(benchDataPathEnv) != "1" {
		b.Skipf("set %s=1 to run the data-path benchmark (1 GiB and 10,000 files through Cairn and Kubo, several minutes)", benchDataPathEnv)
	}
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc: Linux only")
	}
	p := setupDataPath(b)
	loadBefore := loadAverage(b)
	runs := map[string][]opRun{}
	first := true
	for b.Loop() {
		for op, r := range dataIteration(b, p, first) {
			runs[op] = append(runs[op], r)
		}
		first = false
	}
	reportDataRuns(b, p, runs)
	b.Logf("%d MiB file, %d files of 4 KiB; load average after the setup %s, at the end %s", p.size>>20, p.files, loadBefore, loadAverage(b))
}

// setupDataPath writes the sources, adds the large file to three Cairn
// members and to a Kubo daemon.
func setupDataPath(b *testing.B) *dataPath {
	p := &dataPath{
		size:    envInt(b, "CAIRN_BENCH_MIB", 1024) << 20,
		files:   10000,
		profile: os.Getenv("CAIRN_BENCH_PROFILE"),
	}
	if os.Getenv("CAIRN_BENCH_FILES") == "0" {
		p.files = 0 // the large file only
	} else {
		p.files = envInt(b, "CAIRN_BENCH_FILES", p.files)
	}
	src := b.TempDir()
	p.file = filepath.Join(src, "data.bin")
	writeRandomFile(b, p.file, p.size)
	p.dir = filepath.Join(src, "small")
	writeSmallFiles(b, p.dir, p.files)

	p.holders = []*replNode{
		startReplNode(b, "library", "library", "eu-west", nil),
		startReplNode(b, "school", "school", "eu-west", nil),
		startReplNode(b, "clinic", "clinic", "us-east", nil),
	}
	federate(b, p.holders)
	var added node.AddResult
	addQuietly(b, p.holders[0].repo, &added, "--replicas", "3", p.file)
	p.capability = added.Capability
	owner := apiClient(b, p.holders[0].repo)
	waitEvery(b, time.Second, 10*time.Minute, "the large object backed_up on 3 operators", func() bool {
		v, err := owner.Status(context.Background(), added.CID)
		return err == nil && v.Copies == 3
	})

	p.kuboHolder = kubotest.NewRepo(b)
	p.kuboCID = strings.TrimSpace(p.kuboHolder.Run("add", "-Q", p.file))
	startKuboDaemon(b, p.kuboHolder)
	p.kuboSwarm = kuboSwarmAddr(b, p.kuboHolder)
	return p
}

// writeSmallFiles writes count files of 4 KiB of random bytes into dir.
func writeSmallFiles(b *testing.B, dir string, count int) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 4096)
	for i := range count {
		copy(data, fmt.Sprintf("small file %08d ", i)) // distinct contents: no two dedupe
		for j := 20; j < len(data); j++ {
			data[j] = byte(i*31 + j*7)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d.bin", i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// kuboSwarmAddr asks a running Kubo daemon for its loopback address.
func kuboSwarmAddr(b *testing.B, r *kubotest.Repo) string {
	for _, a := range strings.Fields(r.Run("id", "-f", "<addrs>")) {
		if strings.HasPrefix(a, "/ip4/127.0.0.1/tcp/") {
			return a
		}
	}
	b.Fatalf("the Kubo daemon of %s lists no loopback TCP address", r.Path)
	return ""
}

// dataIteration runs each operation once, on fresh repositories.
func dataIteration(b *testing.B, p *dataPath, first bool) map[string]opRun {
	profile := ""
	if first {
		profile = p.profile
	}
	got := map[string]opRun{}
	got["kubo-add"] = kuboAddOffline(b, "add", "-Q", p.file)
	got["cairn-add"] = cairnFresh(b, profile, "add", "add", "-q", p.file)
	got["kubo-cat"] = kuboCat(b, p)
	got["cairn-get"] = cairnRestore(b, p, profile)
	if p.files > 0 {
		got["kubo-add-files"] = kuboAddOffline(b, "add", "-r", "-Q", p.dir)
		got["cairn-add-each"], got["cairn-backed-up"] = cairnAddEach(b, p, profile)
	}
	return got
}

// kuboAddOffline measures `ipfs ARGS` on a fresh repository with no
// daemon, which is then removed.
func kuboAddOffline(b *testing.B, args ...string) opRun {
	r := kubotest.NewRepo(b)
	defer os.RemoveAll(r.Path)
	return measureOp(b, 0, r.Command(b.Context(), args...))
}

// cairnFresh measures `cairn ARGS` against the daemon of a fresh
// repository, which is then removed.
func cairnFresh(b *testing.B, profile, name string, args ...string) opRun {
	dir := initRepo(b, "fresh-"+name)
	defer os.RemoveAll(dir)
	d := startDaemon(b, dir)
	defer d.stop()
	return cairnOp(b, d, profile, name, args...)
}

// kuboCat measures `ipfs cat` of the large file on a fresh Kubo daemon
// connected to the one holding it, into a file, and checks the bytes.
func kuboCat(b *testing.B, p *dataPath) opRun {
	r := kubotest.NewRepo(b)
	defer os.RemoveAll(r.Path)
	d := startKuboDaemon(b, r)
	defer d.stop()
	r.Run("swarm", "connect", p.kuboSwarm)
	out := filepath.Join(b.TempDir(), "kubo-cat.bin")
	defer os.Remove(out)
	f, err := os.Create(out)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	cmd := r.Command(b.Context(), "cat", p.kuboCID)
	cmd.Stdout = f
	run := measureOp(b, d.pid(), cmd)
	if !sameContents(b, out, p.file) {
		b.Fatal("ipfs cat wrote other bytes than the file")
	}
	return run
}

// cairnRestore admits a fresh member, measures `cairn get` of the large
// object on it, checks the bytes and stops it.
func cairnRestore(b *testing.B, p *dataPath, profile string) opRun {
	n := startReplNode(b, "restorer", "restorer", "us-east", nil)
	defer os.RemoveAll(n.repo)
	defer n.d.stop()
	admit(b, p.holders[0].fedNode, n.fedNode, n.operator, n.region)
	for _, h := range p.holders {
		cairn(b, n.repo, "connect", h.id.Addrs[0])
	}
	out := filepath.Join(b.TempDir(), "restored.bin")
	defer os.Remove(out)
	sent := make([]float64, len(p.holders))
	for i, h := range p.holders {
		sent[i] = bytesOut(b, h)
	}
	run := cairnOp(b, n.d, profile, "get", "get", p.capability, "-o", out)
	if !sameContents(b, out, p.file) {
		b.Fatal("cairn get wrote other bytes than the file")
	}
	shares := make([]string, len(p.holders))
	for i, h := range p.holders {
		shares[i] = fmt.Sprintf("%s %.0f MB", h.operator, (bytesOut(b, h)-sent[i])/1e6)
	}
	b.Logf("cairn get: sent by each holder: %s", strings.Join(shares, ", "))
	return run
}

// cairnAddEach measures `cairn add --each DIR` on a member of a fresh
// federation of four, and the time from the start of the command until
// the member counts every object backed_up.
func cairnAddEach(b *testing.B, p *dataPath, profile string) (add, backedUp opRun) {
	nodes := []*replNode{
		startReplNode(b, "owner", "owner", "eu-west", nil),
		startReplNode(b, "a", "a", "eu-west", nil),
		startReplNode(b, "b", "b", "us-east", nil),
		startReplNode(b, "c", "c", "us-east", nil),
	}
	defer func() {
		for _, n := range nodes {
			n.d.stop()
			os.RemoveAll(n.repo)
		}
	}()
	federate(b, nodes)
	pids := make([]int, len(nodes))
	for i, n := range nodes {
		pids[i] = n.d.cmd.Process.Pid
	}
	cpu0 := totalCPU(b, pids)
	start := time.Now()
	add = cairnOp(b, nodes[0].d, profile, "add-each", "add", "-q", "--each", p.dir)
	waitEvery(b, time.Second, 30*time.Minute, "every small object backed_up", func() bool { return allBackedUp(b, nodes[0], p.files) })
	backedUp = opRun{wall: time.Since(start), cpu: totalCPU(b, pids) - cpu0}
	return add, backedUp
}

// totalCPU is the CPU time of the processes pids.
func totalCPU(b *testing.B, pids []int) time.Duration {
	var sum time.Duration
	for _, pid := range pids {
		sum += procCPU(b, pid)
	}
	return sum
}

// reportDataRuns reports each operation's medians: MB/s for the large
// file, objects/s for the small ones, CPU seconds and peak memory; and
// logs every run.
func reportDataRuns(b *testing.B, p *dataPath, runs map[string][]opRun) {
	for _, op := range dataOps {
		rs := runs[op]
		if len(rs) == 0 {
			continue
		}
		walls, cpus := make([]time.Duration, len(rs)), make([]time.Duration, len(rs))
		var peak int64
		each := make([]string, len(rs))
		for i, r := range rs {
			walls[i], cpus[i], peak = r.wall, r.cpu, max(peak, r.peakRSS)
			each[i] = fmt.Sprintf("%.2f s (%.2f cpu-s, %d MiB peak)", r.wall.Seconds(), r.cpu.Seconds(), r.peakRSS>>20)
		}
		wall := median(walls).Seconds()
		if strings.Contains(op, "add-") || strings.Contains(op, "backed-up") {
			b.ReportMetric(float64(p.files)/wall, "objects/s-"+op)
		} else {
			b.ReportMetric(float64(p.size)/1e6/wall, "MB/s-"+op)
		}
		b.ReportMetric(median(cpus).Seconds(), "cpu-s-"+op)
		if peak > 0 {
			b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-rss-"+op)
		}
		b.Logf("%s: runs %s", op, strings.Join(each, ", "))
	}
}
