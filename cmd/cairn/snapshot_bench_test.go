package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// The snapshot benchmark of issue 19 times what a user waits for, as the
// user runs it, on one daemon (no federation) holding N objects of 1 KiB:
//
//   - snapshot: `cairn snapshot -o FILE` (index, ledger, events, config,
//     roster, keys; no blocks), target at most 10 s for 100,000 objects;
//   - snapshot-blocks: `cairn snapshot --blocks -o FILE`;
//   - restore: `cairn restore FILE --repo NEWDIR --paper-key -` of the
//     snapshot without blocks, offline, into a new directory each run;
//   - restore-blocks: the same of the snapshot with blocks, in the first
//     iteration only (it writes each block synced: minutes at 100,000).
//
// Adding the objects takes several minutes, so it runs only when asked:
//
//	CAIRN_BENCH_SNAPSHOT=1 go test ./cmd/cairn -run '^$' -bench 'Snapshot$' -benchtime 3x -timeout 60m
//
// CAIRN_BENCH_SNAPSHOT_OBJECTS sets N (default 100,000);
// CAIRN_BENCH_PROFILE=DIR saves the daemon's CPU profile and trace over
// the first snapshot of each kind there (car-snapshot-profile.out, ...).
const benchSnapshotEnv = "CAIRN_BENCH_SNAPSHOT"

// snapshotOps are the measured operations, in the order they run.
var snapshotOps = []string{"snapshot", "snapshot-blocks", "restore", "restore-blocks"}

// snapshotBench is what every iteration shares: the daemon holding the
// objects and its owner's paper key.
type snapshotBench struct {
	objects  int
	d        *daemonProc
	paperKey string
	profile  string
}

// snapshotRun is one operation's figures and the size of what it wrote.
type snapshotRun struct {
	opRun
	bytes int64
}

// BenchmarkSnapshot reports, per operation, the median seconds and
// objects/s, the median snapshot size, and logs every run.
func BenchmarkSnapshot(b *testing.B) {
	if os.Getenv(benchSnapshotEnv) != "1" {
		b.Skipf("set %s=1 to run the snapshot benchmark (100,000 objects added first, several minutes)", benchSnapshotEnv)
	}
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc: Linux only")
	}
	s := setupSnapshotBench(b)
	runs := map[string][]snapshotRun{}
	first := true
	for b.Loop() {
		for op, r := range snapshotIteration(b, s, first) {
			runs[op] = append(runs[op], r)
		}
		first = false
	}
	reportSnapshotRuns(b, s, runs)
	b.Logf("%d objects of 1 KiB on one daemon; load average at the end %s", s.objects, loadAverage(b))
}

// setupSnapshotBench starts a daemon and adds the objects to it.
func setupSnapshotBench(b *testing.B) *snapshotBench {
	s := &snapshotBench{
		objects: envInt(b, "CAIRN_BENCH_SNAPSHOT_OBJECTS", 100000),
		profile: os.Getenv("CAIRN_BENCH_PROFILE"),
	}
	dir := initRepo(b, "snapshotted")
	s.d = startDaemon(b, dir)
	var paper paperKeyAnswer
	cairnJSON(b, dir, &paper, "key", "export")
	s.paperKey = paper.PaperKey
	addSmallInChunks(b, dir, s.objects, 10000)
	return s
}

// addSmallInChunks adds count distinct objects of 1 KiB to the daemon of
// repoDir with `cairn add --each`, a directory of at most chunk files at
// a time.
func addSmallInChunks(b *testing.B, repoDir string, count, chunk int) {
	start := time.Now()
	for done := 0; done < count; {
		n := min(chunk, count-done)
		dir := filepath.Join(b.TempDir(), fmt.Sprintf("chunk-%07d", done))
		writeKiBFiles(b, dir, done, n)
		out, err := cairnCmd(b.Context(), repoDir, "add", "-q", "--each", dir, "--jobs", "16").CombinedOutput()
		if err != nil {
			b.Fatalf("cairn add --each %s: %v\n%s", dir, err, lastLines(string(out), 10))
		}
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		done += n
		// Live progress: a benchmark's log keeps only 10 lines, for the figures.
		elapsed := time.Since(start)
		fmt.Fprintf(os.Stderr, "added %d of %d objects in %s (%.0f objects/s)\n", done, count, elapsed.Round(time.Second), float64(done)/elapsed.Seconds())
	}
	b.Logf("added %d objects in %s (%.0f objects/s)", count, time.Since(start).Round(time.Second), float64(count)/time.Since(start).Seconds())
}

// writeKiBFiles writes n files of 1 KiB into dir, numbered from first,
// each with contents no other holds.
func writeKiBFiles(b *testing.B, dir string, first, n int) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 1024)
	for i := first; i < first+n; i++ {
		copy(data, fmt.Sprintf("snapshot bench object %09d ", i))
		for j := 32; j < len(data); j++ {
			data[j] = byte(i*131 + j*7 + i>>8)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("o%09d.bin", i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// snapshotIteration runs each operation once, into a fresh directory
// removed at the end. The first iteration also starts a daemon on the
// restored repository and checks that it lists every object.
func snapshotIteration(b *testing.B, s *snapshotBench, first bool) map[string]snapshotRun {
	work, err := os.MkdirTemp(b.TempDir(), "iteration-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(work)
	profile := ""
	if first {
		profile = s.profile
	}
	plain, withBlocks := filepath.Join(work, "plain.tar"), filepath.Join(work, "blocks.tar")
	got := map[string]snapshotRun{}
	got["snapshot"] = timeSnapshot(b, s, profile, "snapshot", plain)
	got["snapshot-blocks"] = timeSnapshot(b, s, profile, "snapshot-blocks", withBlocks, "--blocks")
	restored := filepath.Join(work, "restored")
	got["restore"] = timeRestore(b, s, plain, restored)
	if first {
		checkRestoredListing(b, restored, s.objects)
	}
	if first { // some minutes at 100,000 objects: once
		os.RemoveAll(restored)
		got["restore-blocks"] = timeRestore(b, s, withBlocks, restored)
	}
	return got
}

// timeSnapshot measures `cairn snapshot -o path ARGS --json` and checks
// its summary.
func timeSnapshot(b *testing.B, s *snapshotBench, profile, name, path string, args ...string) snapshotRun {
	var saved []<-chan struct{}
	if profile != "" {
		seconds := envInt(b, "CAIRN_BENCH_PROFILE_SECONDS", 5)
		saved = append(saved, saveDaemonProfile(b, s.d.repo, "profile", seconds, filepath.Join(profile, "car-"+name+"-profile.out")))
		saved = append(saved, saveDaemonProfile(b, s.d.repo, "trace", min(seconds, 5), filepath.Join(profile, "car-"+name+"-trace.out")))
	}
	cmd := cairnCmd(b.Context(), s.d.repo, append([]string{"snapshot", "-o", path, "--json"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	r := snapshotRun{opRun: measureOp(b, s.d.cmd.Process.Pid, cmd)}
	for _, c := range saved {
		<-c
	}
	var sum snapshotAnswer
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil || sum.Output != path || sum.Files < 3 {
		b.Fatalf("cairn snapshot %s: summary %+v (%v)\n%s", strings.Join(args, " "), sum, err, out.String())
	}
	r.bytes = fileSize(b, path)
	return r
}

// timeRestore measures `cairn restore path --repo dir --paper-key -`.
func timeRestore(b *testing.B, s *snapshotBench, path, dir string) snapshotRun {
	cmd := cairnCmd(b.Context(), dir, "restore", path, "--paper-key", "-")
	cmd.Stdin = strings.NewReader(s.paperKey + "\n")
	r := snapshotRun{opRun: measureOp(b, 0, cmd)}
	r.bytes = dirSize(b, dir)
	return r
}

// checkRestoredListing starts a daemon on a restored repository and
// checks that `cairn ls` lists want objects.
func checkRestoredListing(b *testing.B, dir string, want int) {
	d := startDaemon(b, dir)
	defer d.stop()
	if got := len(ownedListing(b, dir)); got != want {
		b.Fatalf("the restored node lists %d objects, want %d", got, want)
	}
}

// dirSize is the bytes of the files under dir.
func dirSize(b *testing.B, dir string) int64 {
	var sum int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		sum += info.Size()
		return err
	})
	if err != nil {
		b.Fatalf("size of %s: %v", dir, err)
	}
	return sum
}

// reportSnapshotRuns reports each operation's median seconds, objects/s
// and bytes written, and logs every run.
func reportSnapshotRuns(b *testing.B, s *snapshotBench, runs map[string][]snapshotRun) {
	for _, op := range snapshotOps {
		rs := runs[op]
		if len(rs) == 0 {
			continue
		}
		walls, cpus, sizes := make([]time.Duration, len(rs)), make([]time.Duration, len(rs)), make([]int64, len(rs))
		var peak int64
		each := make([]string, len(rs))
		for i, r := range rs {
			walls[i], cpus[i], sizes[i], peak = r.wall, r.cpu, r.bytes, max(peak, r.peakRSS)
			each[i] = fmt.Sprintf("%.2f s (%.2f cpu-s, %.1f MB, %d MiB peak)", r.wall.Seconds(), r.cpu.Seconds(), float64(r.bytes)/1e6, r.peakRSS>>20)
		}
		wall := median(walls).Seconds()
		b.ReportMetric(wall, "s-"+op)
		b.ReportMetric(float64(s.objects)/wall, "objects/s-"+op)
		slices.Sort(sizes)
		b.ReportMetric(float64(sizes[len(sizes)/2])/1e6, "MB-"+op)
		b.ReportMetric(median(cpus).Seconds(), "cpu-s-"+op)
		b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-rss-"+op)
		b.Logf("%s: runs %s", op, strings.Join(each, ", "))
	}
}
