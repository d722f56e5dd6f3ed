package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
)

// BenchmarkSmallObjects measures what objects cost through real daemons,
// as the issue on a million objects asks: CAIRN_BENCH_MEMBERS members
// (default 5; 3 to 8, each its own operator, over three regions) each
// add CAIRN_BENCH_OBJECTS objects of 1 KiB (default 1,000; the issue's
// figure is 100,000) over the HTTP API, eight at a time, as a pinning
// client would. It reports how many objects a second the whole
// federation adds until every member counts every object it records
// backed up, waits CAIRN_BENCH_SETTLE if set (say 11m, for the burst's
// surplus copies to be released), then lets the federation idle for
// CAIRN_BENCH_IDLE (default 60 s) and reports, per node, CPU seconds per
// minute and bytes sent per second, and both per held object per hour. With CAIRN_BENCH_KILL set
// it then SIGKILLs a member (see killOneHolder); CAIRN_BENCH_KILL=seen
// stops once the loss is seen, without waiting for the lost copies to be
// made again (at 100,000 copies per node, that is hours here).
func BenchmarkSmallObjects(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc: Linux only")
	}
	perNode := envInt(b, "CAIRN_BENCH_OBJECTS", 1000)
	members := envInt(b, "CAIRN_BENCH_MEMBERS", 5)
	if members < 3 || members > len(smallObjectsMembers) {
		b.Fatalf("CAIRN_BENCH_MEMBERS=%d: want 3 to %d (R = 3 needs three operators)", members, len(smallObjectsMembers))
	}
	idle := 60 * time.Second
	if v := os.Getenv("CAIRN_BENCH_IDLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("CAIRN_BENCH_IDLE=%q: %v", v, err)
		}
		idle = d
	}
	var settle time.Duration
	if v := os.Getenv("CAIRN_BENCH_SETTLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			b.Fatalf("CAIRN_BENCH_SETTLE=%q: want a duration", v)
		}
		settle = d
	}
	for range b.N {
		var nodes []*replNode
		for _, m := range smallObjectsMembers[:members] {
			nodes = append(nodes, startReplNode(b, m[0], m[0], m[1], benchSettings(b)))
		}
		federate(b, nodes)
		burstCPU := daemonsCPU(b, nodes)
		burstProfiled := profileCPU(b, nodes[0], os.Getenv("CAIRN_BENCH_BURST_PROFILE"), 30)
		start := time.Now()
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Go(func() { addSmallObjects(b, n, perNode) })
		}
		wg.Wait()
		added := time.Since(start)
		// Polled once a second, not waitFor's 50 times: each poll is a
		// status pass over every object on each member, which would
		// otherwise take a good share of the CPU being measured.
		waitEvery(b, time.Second, 2*time.Hour, "every member to count every object it records backed up", func() bool {
			for _, n := range nodes {
				if !allBackedUp(b, n, perNode) {
					return false
				}
			}
			return true
		})
		settled := time.Since(start)
		<-burstProfiled
		total := float64(perNode * len(nodes))
		b.ReportMetric(total/added.Seconds(), "objects/s-added")
		b.ReportMetric(total/settled.Seconds(), "objects/s-backed-up")
		// CPU per object is what a faster or quieter machine does not change.
		b.ReportMetric(float64((daemonsCPU(b, nodes)-burstCPU).Milliseconds())/total, "cpu-ms/object-backed-up")

		// The surplus copies a slow burst places are released after
		// ReleaseGrace: a settle window keeps them out of the idle one.
		if settle > 0 {
			wait := time.NewTimer(settle)
			<-wait.C
		}
		cpu0, out0, at0 := make([]time.Duration, len(nodes)), make([]float64, len(nodes)), time.Now()
		for i, n := range nodes {
			cpu0[i], out0[i] = procCPU(b, n.d.cmd.Process.Pid), bytesOut(b, n)
		}
		profiled := profileCPU(b, nodes[0], os.Getenv("CAIRN_BENCH_PROFILE"), max(int(idle.Seconds())-5, 1))
		window := time.NewTimer(idle)
		<-window.C
		<-profiled
		elapsed := time.Since(at0)
		var cpu time.Duration
		var sent, held, resident float64
		for i, n := range nodes {
			cpu += procCPU(b, n.d.cmd.Process.Pid) - cpu0[i]
			sent += bytesOut(b, n) - out0[i]
			held += float64(heldObjects(b, n))
			resident += float64(procMemory(b, n.d.cmd.Process.Pid, "VmRSS"))
		}
		k := float64(len(nodes))
		b.ReportMetric(cpu.Seconds()/k/elapsed.Minutes(), "cpu-s/node/min-idle")
		b.ReportMetric(sent/k/elapsed.Seconds()/1024, "KiB/s/node-idle")
		b.ReportMetric(cpu.Seconds()*1e6/held/elapsed.Hours(), "cpu-us/held-object/h-idle")
		b.ReportMetric(sent/held/elapsed.Hours(), "bytes/held-object/h-idle")
		b.ReportMetric(held/k, "held-objects/node")
		b.ReportMetric(resident/k/(1<<20), "resident-MiB/node")
		if os.Getenv("CAIRN_BENCH_KILL") != "" {
			killOneHolder(b, nodes, perNode, os.Getenv("CAIRN_BENCH_KILL") != "seen")
		}
		for _, n := range nodes {
			n.d.stop()
		}
	}
}

// killOneHolder SIGKILLs a member holding a copy of one of the first
// member's objects and reports how soon the first member sees that copy
// gone, and, when untilRepaired, how soon every other member counts every
// object it records backed up again, the lost copies made again elsewhere.
func killOneHolder(b *testing.B, nodes []*replNode, perNode int, untilRepaired bool) {
	byPeer := map[string]*replNode{}
	for _, n := range nodes {
		byPeer[n.id.PeerID] = n
	}
	c := apiClient(b, nodes[0].repo)
	objs, err := c.List(context.Background())
	if err != nil || len(objs) == 0 {
		b.Fatalf("list the first member's objects: %d, %v", len(objs), err)
	}
	var cid string
	for _, o := range objs[len(objs)/2:] {
		if o.Role == node.RoleOwner && !o.Catalog {
			cid = o.ID
			break
		}
	}
	v, err := c.Status(context.Background(), cid)
	if err != nil {
		b.Fatal(err)
	}
	victim := pickRemoteHolder(b, v, byPeer)
	lost := heldObjects(b, victim)
	killed := time.Now()
	victim.d.kill()
	waitFor(b, 10*time.Minute, "the killed holder's copy to stop counting", func() bool {
		v, err := c.Status(context.Background(), cid)
		if err != nil {
			b.Fatal(err)
		}
		_, counted := verifiedHolders(v)[victim.id.PeerID]
		return !counted // the object may still have target copies without it
	})
	b.ReportMetric(time.Since(killed).Seconds(), "s-kill-to-copy-dropped")
	b.ReportMetric(float64(lost), "copies-on-killed-member")
	if !untilRepaired {
		return
	}
	waitEvery(b, time.Second, 2*time.Hour, "every other member to count every object backed up again", func() bool {
		for _, n := range nodes {
			if n != victim && !allBackedUp(b, n, perNode) {
				return false
			}
		}
		return true
	})
	b.ReportMetric(time.Since(killed).Seconds(), "s-kill-to-all-backed-up")
}

// daemonsCPU is the CPU time the daemons of nodes have used so far.
func daemonsCPU(b *testing.B, nodes []*replNode) time.Duration {
	var sum time.Duration
	for _, n := range nodes {
		sum += procCPU(b, n.d.cmd.Process.Pid)
	}
	return sum
}

// profileCPU writes a CPU profile of n over the next seconds to path,
// when path is set (go tool pprof reads it with the cairn binary); the
// channel closes when it is written. CAIRN_BENCH_PROFILE profiles most of
// the idle window, CAIRN_BENCH_BURST_PROFILE the first 30 s of the adds.
func profileCPU(b *testing.B, n *replNode, path string, seconds int) <-chan struct{} {
	done := make(chan struct{})
	if path == "" {
		close(done)
		return done
	}
	addr, token := repoAPI(b, n.repo)
	go func() {
		defer close(done)
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, seconds), nil)
		if err != nil {
			b.Error(err)
			return
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Error(err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(path)
		if err == nil {
			_, err = io.Copy(f, resp.Body)
			err = errors.Join(err, f.Close())
		}
		if err != nil {
			b.Errorf("write the profile %s: %v", path, err)
		}
	}()
	return done
}

// smallObjectsMembers are the members of BenchmarkSmallObjects, each its
// own operator, by name and region.
var smallObjectsMembers = [][2]string{
	{"library", "eu-west"}, {"school", "eu-west"}, {"clinic", "us-east"},
	{"museum", "us-east"}, {"archive", "ap-south"}, {"hospital", "ap-south"},
	{"council", "eu-west"}, {"college", "us-east"},
}

// addSmallObjects adds count objects of 1 KiB to n, eight at a time.
func addSmallObjects(b *testing.B, n *replNode, count int) {
	c := apiClient(b, n.repo)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			data := make([]byte, 1024)
			for int(next.Add(1)) <= count {
				rand.Read(data)
				if _, err := c.Add(context.Background(), bytes.NewReader(data), "application/octet-stream", node.AddOptions{Name: "small"}); err != nil {
					b.Errorf("add to %s: %v", n.repo, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// allBackedUp reports whether n records at least want objects and counts
// every one it records backed up.
func allBackedUp(b *testing.B, n *replNode, want int) bool {
	ov, err := apiClient(b, n.repo).StatusPage(context.Background(), netstat.PageCursor{}, 1)
	if err != nil {
		b.Fatal(err)
	}
	return ov.Tally.Total() >= want && ov.Tally.Count(netstat.StateBackedUp) == ov.Tally.Total()
}

// heldObjects is how many objects n keeps a copy of.
func heldObjects(b *testing.B, n *replNode) int {
	objs, err := apiClient(b, n.repo).List(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return len(objs)
}

// bytesOut reads what n's host has sent to members, from /metrics.
func bytesOut(b *testing.B, n *replNode) float64 {
	addr, token := repoAPI(b, n.repo)
	code, body := scrape(b, addr, token)
	if code != http.StatusOK {
		b.Fatalf("/metrics of %s: %d", n.repo, code)
	}
	v := sample(body, `cairn_p2p_bytes_total{direction="out"}`)
	if v < 0 {
		b.Fatalf("/metrics of %s has no cairn_p2p_bytes_total", n.repo)
	}
	return float64(v)
}

// envInt reads a positive integer from the environment, or def.
func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// benchSettings reads CAIRN_BENCH_SETTINGS, config fields to set on every
// member as name=value pairs separated by commas (see setConfig), to
// compare settings in the same run of the benchmark.
func benchSettings(b *testing.B) map[string]string {
	settings := map[string]string{}
	for kv := range strings.SplitSeq(os.Getenv("CAIRN_BENCH_SETTINGS"), ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			b.Fatalf("CAIRN_BENCH_SETTINGS: %q is not name=value", kv)
		}
		settings[k] = v
	}
	return settings
}
