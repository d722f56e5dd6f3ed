package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
)

// BenchmarkIdleNode measures what a member of a quiet federation costs:
// three real daemons, 20 objects backed up, default settings; then the
// CPU time and resident memory of one daemon over 30 s with nothing
// happening but its own challenges, gossip and ticks. Run it with
//
//	go test ./cmd/cairn -run '^$' -bench IdleNode -benchtime 1x
func BenchmarkIdleNode(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc: Linux only")
	}
	nodes := []*replNode{
		startReplNode(b, "owner", "library", "eu-west", nil),
		startReplNode(b, "school", "school", "eu-west", nil),
		startReplNode(b, "clinic", "clinic", "us-east", nil),
	}
	federate(b, nodes)
	owner := nodes[0]
	var last string
	for i := range 20 {
		src := filepath.Join(b.TempDir(), fmt.Sprintf("file-%d", i))
		os.WriteFile(src, sampleData(b, 1<<20, fmt.Sprintf("IDLE%d", i)), 0o600)
		var added node.AddResult
		cairnJSON(b, owner.repo, &added, "add", src)
		last = added.CID
	}
	waitFor(b, time.Minute, "backed_up", func() bool { return objectStatus(b, owner, last).State == netstat.StateBackedUp })
	pid := owner.d.cmd.Process.Pid
	for range b.N {
		cpu0, at0 := procCPU(b, pid), time.Now()
		window := time.NewTimer(30 * time.Second)
		<-window.C
		cpu := procCPU(b, pid) - cpu0
		b.ReportMetric(100*cpu.Seconds()/time.Since(at0).Seconds(), "%cpu-idle")
		b.ReportMetric(float64(procMemory(b, pid, "VmRSS"))/(1<<20), "MiB-rss-idle")
	}
}

// procCPU returns the user plus system CPU time of a process.
func procCPU(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which ends with ')': state is
	// field 3, utime 14 and stime 15, in clock ticks (100 per second).
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// procMemory returns a memory figure of a process in bytes: field is a
// line of /proc/PID/status in kB, such as VmRSS (resident now) or VmHWM
// (the peak resident memory since start or since the peak was reset).
func procMemory(b *testing.B, pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
