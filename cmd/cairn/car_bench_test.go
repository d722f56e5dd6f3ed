package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/internal/kubotest"
	"github.com/cairn-fed/cairn/node"
)

// The CAR bundle benchmark of issue 15 moves 1 GiB through `cairn export`
// and `cairn import` against running daemons, as users run them, and
// through real Kubo's `ipfs dag export` and `ipfs dag import` in the same
// run, both against a Kubo daemon and offline (the command opens the
// repository itself). It takes a few minutes and about 8 GB of disk, so it
// runs only when asked:
//
//	CAIRN_BENCH_CAR=1 go test ./cmd/cairn -run '^$' -bench CARBundles -benchtime 5x -timeout 30m
//
// The 1 GiB is written and added once; each iteration (-benchtime Nx)
// exports and imports it again. CAIRN_BENCH_PROFILE=DIR saves the Cairn
// daemon's CPU profile and execution trace over the first 5 s of each
// Cairn operation of the first iteration there (the log then keeps too few
// lines for the figures, and the figures of that iteration are disturbed).
const benchCAREnv = "CAIRN_BENCH_CAR"

// carBenchSize is the size of the file every operation carries.
const carBenchSize = 1 << 30

// carOps are the measured operations, in the order each iteration runs
// them: each Kubo figure next to the Cairn figures it compares with.
var carOps = []string{
	"kubo-export-offline", "kubo-export", "cairn-export-public", "cairn-export-encrypted",
	"kubo-import-offline", "kubo-import", "cairn-import-public", "cairn-import-encrypted",
}

// opRun is what one operation measured.
type opRun struct {
	wall    time.Duration // the CLI process, start to exit
	cpu     time.Duration // daemon and CLI, user and system
	peakRSS int64         // peak resident memory of the daemon during the operation (VmHWM), or of the CLI offline
}

func (r opRun) mbps() float64 { return carBenchSize / 1e6 / r.wall.Seconds() }

// carSources hold the 1 GiB before any iteration.
type carSources struct {
	kubo      *kubotest.Repo // its daemon runs only for the export through it: offline commands need the repository's lock
	kuboCID   string
	cairn     string // repository
	cairnD    *daemonProc
	public    node.AddResult // `cairn add --unencrypted`: the same DAG as Kubo's
	encrypted node.AddResult // `cairn add`
}

// carBundles are the paths of one iteration's bundles.
type carBundles struct{ kubo, public, encrypted string }

// BenchmarkCARBundles reports, per operation, the median throughput in MB
// (10^6 bytes) of the 1 GiB file per second of the CLI's wall time, the
// median CPU seconds of daemon and CLI together, and the highest peak
// resident memory of the daemon (of the CLI offline) over the iterations.
func BenchmarkCARBundles(b *testing.B) {
	if os.Getenv(benchCAREnv) != "1" {
		b.Skipf("set %s=1 to run the CAR bundle benchmark (1 GiB through Cairn and Kubo, a few minutes)", benchCAREnv)
	}
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc: Linux only")
	}
	src := setupCARSources(b)
	loadBefore := loadAverage(b)
	runs := map[string][]opRun{}
	var sizes string
	for b.Loop() {
		got, bundles := carIteration(b, src, sizes == "")
		for op, r := range got {
			runs[op] = append(runs[op], r)
		}
		sizes = bundles
	}
	reportCARRuns(b, runs)
	b.Logf("bundles: %s, for %d bytes of data; load average after the setup %s, at the end %s", sizes, carBenchSize, loadBefore, loadAverage(b))
}

// setupCARSources writes the 1 GiB of random bytes and adds it to a Kubo
// repository and, public and encrypted, to a Cairn daemon.
func setupCARSources(b *testing.B) *carSources {
	file := filepath.Join(b.TempDir(), "data.bin")
	writeRandomFile(b, file, carBenchSize)
	s := &carSources{kubo: kubotest.NewRepo(b)}
	// Cairn's profile for public adds (as in TestKuboReadsCairnBundles):
	// both sides then hold one DAG.
	s.kuboCID = strings.TrimSpace(s.kubo.Run("add", "-Q", "--cid-version=1", "--raw-leaves", "--chunker=size-1048576", "--max-file-links=1024", file))
	s.cairn = initRepo(b, "source")
	s.cairnD = startDaemon(b, s.cairn)
	addQuietly(b, s.cairn, &s.public, "--unencrypted", file)
	addQuietly(b, s.cairn, &s.encrypted, file)
	if s.public.IPFS != s.kuboCID {
		b.Fatalf("Cairn's public DAG is %s, Kubo's %s: the two would not carry the same blocks", s.public.IPFS, s.kuboCID)
	}
	return s
}

// addQuietly runs `cairn add ARGS --json` into res. Unlike cairnJSON it
// does not log the add as a slow command: a benchmark keeps 10 lines of
// log, kept here for the figures.
func addQuietly(b *testing.B, repoDir string, res *node.AddResult, args ...string) {
	out, err := cairnCmd(b.Context(), repoDir, append(append([]string{"add"}, args...), "--json")...).Output()
	if err != nil {
		b.Fatalf("cairn add %s: %v", strings.Join(args, " "), err)
	}
	if err := json.Unmarshal(out, res); err != nil {
		b.Fatalf("cairn add --json: %v\n%s", err, out)
	}
}

// carIteration exports the 1 GiB from each source and imports each bundle
// into a fresh repository, and returns the figures and the bundles'
// sizes. The bundles and repositories are removed at the end.
func carIteration(b *testing.B, s *carSources, first bool) (map[string]opRun, string) {
	work, err := os.MkdirTemp(b.TempDir(), "iteration-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(work)
	car := carBundles{filepath.Join(work, "kubo.car"), filepath.Join(work, "public.car"), filepath.Join(work, "encrypted.car")}
	profile := ""
	if first {
		profile = os.Getenv("CAIRN_BENCH_PROFILE")
	}
	got := map[string]opRun{}
	got["kubo-export-offline"] = kuboExport(b, s, car.kubo, false)
	got["kubo-export"] = kuboExport(b, s, car.kubo, true)
	got["cairn-export-public"] = cairnOp(b, s.cairnD, profile, "export-public", "export", s.public.IPFS, "-o", car.public)
	got["cairn-export-encrypted"] = cairnOp(b, s.cairnD, profile, "export-encrypted", "export", s.encrypted.CID, "-o", car.encrypted)
	got["kubo-import-offline"] = kuboImport(b, s, car.kubo, false)
	got["kubo-import"] = kuboImport(b, s, car.kubo, true)
	got["cairn-import-public"] = cairnImport(b, filepath.Join(work, "import-public"), profile, car.public)
	got["cairn-import-encrypted"] = cairnImport(b, filepath.Join(work, "import-encrypted"), profile, car.encrypted)
	bundles := fmt.Sprintf("Kubo's %d bytes, Cairn's public %d (the same bytes: %t), encrypted %d",
		fileSize(b, car.kubo), fileSize(b, car.public), sameContents(b, car.kubo, car.public), fileSize(b, car.encrypted))
	return got, bundles
}

// sameContents reports whether two files hold the same bytes.
func sameContents(b *testing.B, pathA, pathB string) bool {
	fa, err := os.Open(pathA)
	if err != nil {
		b.Fatal(err)
	}
	defer fa.Close()
	fb, err := os.Open(pathB)
	if err != nil {
		b.Fatal(err)
	}
	defer fb.Close()
	bufA, bufB := make([]byte, 1<<20), make([]byte, 1<<20)
	for {
		na, errA := io.ReadFull(fa, bufA)
		nb, errB := io.ReadFull(fb, bufB)
		if !bytes.Equal(bufA[:na], bufB[:nb]) {
			return false
		}
		if errA != nil || errB != nil { // the end of a file, at the same offset in both
			return errA != nil && errB != nil
		}
	}
}

// cairnOp measures `cairn ARGS` against the daemon d. If the directory
// profile is set, it saves the daemon's CPU profile and execution trace
// over the first 5 s there (the profile over CAIRN_BENCH_PROFILE_SECONDS,
// if set), as car-NAME-profile.out and car-NAME-trace.out.
func cairnOp(b *testing.B, d *daemonProc, profile, name string, args ...string) opRun {
	var saved []<-chan struct{}
	if profile != "" {
		seconds := envInt(b, "CAIRN_BENCH_PROFILE_SECONDS", 5)
		saved = append(saved, saveDaemonProfile(b, d.repo, "profile", seconds, filepath.Join(profile, "car-"+name+"-profile.out")))
		saved = append(saved, saveDaemonProfile(b, d.repo, "trace", min(seconds, 5), filepath.Join(profile, "car-"+name+"-trace.out")))
	}
	r := measureOp(b, d.cmd.Process.Pid, cairnCmd(b.Context(), d.repo, args...))
	for _, s := range saved {
		<-s
	}
	return r
}

// cairnImport measures `cairn import BUNDLE` against the daemon of a new
// repository at repoDir, which is removed afterwards.
func cairnImport(b *testing.B, repoDir, profile, bundle string) opRun {
	defer os.RemoveAll(repoDir)
	cairn(b, repoDir, "init", "--listen", "/ip4/127.0.0.1/tcp/0", "--api", "127.0.0.1:0")
	d := startDaemon(b, repoDir)
	defer d.stop()
	return cairnOp(b, d, profile, "import-"+strings.TrimSuffix(filepath.Base(bundle), ".car"), "import", bundle, "--json")
}

// kuboExport measures `ipfs dag export CID > path` of the source, through
// a daemon started for it or offline.
func kuboExport(b *testing.B, s *carSources, path string, daemon bool) opRun {
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	pid := 0
	if daemon {
		d := startKuboDaemon(b, s.kubo)
		defer d.stop()
		pid = d.pid()
	}
	cmd := s.kubo.Command(b.Context(), "dag", "export", s.kuboCID)
	cmd.Stdout = out
	return measureOp(b, pid, cmd)
}

// kuboImport measures `ipfs dag import BUNDLE` into a new repository,
// through its daemon or offline, and checks that it pinned the root.
func kuboImport(b *testing.B, s *carSources, bundle string, daemon bool) opRun {
	fresh := kubotest.NewRepo(b)
	defer os.RemoveAll(fresh.Path)
	pid := 0
	if daemon {
		d := startKuboDaemon(b, fresh)
		defer d.stop()
		pid = d.pid()
	}
	cmd := fresh.Command(b.Context(), "dag", "import", bundle)
	var out bytes.Buffer
	cmd.Stdout = &out
	r := measureOp(b, pid, cmd)
	if !strings.Contains(out.String(), s.kuboCID) || !strings.Contains(out.String(), "success") {
		b.Fatalf("ipfs dag import did not pin %s:\n%s", s.kuboCID, out.String())
	}
	return r
}

// measureOp runs cmd to completion and measures its wall time, the CPU
// time of cmd and of the daemon pid, and the daemon's peak resident
// memory while cmd ran (its high-water mark is reset first). With no
// daemon (pid 0) the peak is the command's own.
func measureOp(b *testing.B, pid int, cmd *exec.Cmd) opRun {
	b.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if cmd.Stdout == nil {
		cmd.Stdout = &stderr
	}
	var cpu0 time.Duration
	if pid != 0 {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
			b.Fatalf("reset the daemon's peak resident memory: %v", err)
		}
		cpu0 = procCPU(b, pid)
	}
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, stderr.String())
	}
	r := opRun{wall: time.Since(start), cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	if pid == 0 {
		r.peakRSS = cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // kB on Linux
		return r
	}
	r.cpu += procCPU(b, pid) - cpu0
	r.peakRSS = procMemory(b, pid, "VmHWM")
	return r
}

// reportCARRuns reports each operation's median throughput and CPU time
// and its highest peak memory, and logs every run.
func reportCARRuns(b *testing.B, runs map[string][]opRun) {
	for _, op := range carOps {
		rs := runs[op]
		walls, cpus := make([]time.Duration, len(rs)), make([]time.Duration, len(rs))
		var peak int64
		each := make([]string, len(rs))
		for i, r := range rs {
			walls[i], cpus[i], peak = r.wall, r.cpu, max(peak, r.peakRSS)
			each[i] = fmt.Sprintf("%.2f s (%.0f MB/s, %.2f cpu-s, %d MiB peak)", r.wall.Seconds(), r.mbps(), r.cpu.Seconds(), r.peakRSS>>20)
		}
		med := opRun{wall: median(walls)}
		b.ReportMetric(med.mbps(), "MB/s-"+op)
		b.ReportMetric(median(cpus).Seconds(), "cpu-s-"+op)
		b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-rss-"+op)
		b.Logf("%s: runs %s", op, strings.Join(each, ", "))
	}
}

// writeRandomFile writes size random bytes to path a MiB at a time.
func writeRandomFile(b *testing.B, path string, size int) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	src := rand.NewChaCha8([32]byte{'c', 'a', 'r'})
	buf := make([]byte, 1<<20)
	for written := 0; written < size; written += len(buf) {
		src.Read(buf)
		if _, err := f.Write(buf[:min(len(buf), size-written)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// loadAverage is the first three fields of /proc/loadavg: a shared
// machine's other work shows there.
func loadAverage(b *testing.B) string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		b.Fatal(err)
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

func fileSize(b *testing.B, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

// kuboDaemon is a Kubo daemon the benchmark starts itself, to know its
// process (kubotest.Repo.Start keeps it).
type kuboDaemon struct {
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

// startKuboDaemon starts the daemon of r, stopped when the benchmark
// ends, and waits until it says it is ready.
func startKuboDaemon(b *testing.B, r *kubotest.Repo) *kuboDaemon {
	b.Helper()
	d := &kuboDaemon{cmd: r.Command(context.Background(), "daemon"), done: make(chan struct{})}
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr bytes.Buffer
	d.cmd.Stderr = &stderr
	if err := d.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(d.stop)
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "Daemon is ready") {
				close(ready)
				signalled = true
			}
		}
		d.cmd.Wait()
		close(d.done)
	}()
	select {
	case <-ready:
	case <-d.done:
		b.Fatalf("Kubo daemon exited before it was ready:\n%s", stderr.String())
	case <-time.After(60 * time.Second):
		b.Fatal("Kubo daemon not ready after 60s")
	}
	return d
}

func (d *kuboDaemon) pid() int { return d.cmd.Process.Pid }

// stop asks the daemon to shut down and waits for it.
func (d *kuboDaemon) stop() {
	d.once.Do(func() {
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(30 * time.Second):
			d.cmd.Process.Kill()
			<-d.done
		}
	})
}
