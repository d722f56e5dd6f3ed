package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
)

// progress draws a one-line progress bar on a terminal while data is sent
// or received.
type progress struct {
	out   *os.File
	verb  string // "sent" or "received", when the total is unknown
	total int64
	done  atomic.Int64
	start time.Time
	quit  chan struct{}
	wg    sync.WaitGroup
	// active: out is a terminal and the bar is drawn.
	active bool
}

// startProgress draws what is sent to out only when it is a terminal and
// quiet is false; otherwise it is inert. A total of 0 is unknown.
func startProgress(out *os.File, total int64, quiet bool) *progress {
	return newProgress(out, "sent", total, quiet)
}

// startReceiveProgress draws what is received, of total bytes (0: not
// known).
func startReceiveProgress(out *os.File, total int64, quiet bool) *progress {
	return newProgress(out, "received", total, quiet)
}

func newProgress(out *os.File, verb string, total int64, quiet bool) *progress {
	p := &progress{out: out, verb: verb, total: total, start: time.Now(), quit: make(chan struct{})}
	if quiet || !isTerminal(out) {
		return p
	}
	p.active = true
	p.wg.Add(1)
	go p.draw()
	return p
}

// clearLine erases the progress line, if one is drawn, so another line
// can be printed in its place (the next tick draws it again below).
func (p *progress) clearLine() {
	if p.active {
		fmt.Fprint(p.out, "\r\033[K")
	}
}

func (p *progress) wrap(r io.Reader) io.Reader { return &countingReader{r: r, n: &p.done} }

// quietFlag adds -q/--quiet, as Kubo's `ipfs add -q`: no progress, and
// only the object ID on standard output.
func quietFlag(cmd *cobra.Command, quiet *bool) {
	cmd.Flags().BoolVarP(quiet, "quiet", "q", false, "print only the object ID, and no progress (the capability stays in cairn ls --json and the catalog)")
}

func (p *progress) draw() {
	defer p.wg.Done()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.quit:
			fmt.Fprint(p.out, "\r\033[K")
			return
		case <-tick.C:
			fmt.Fprint(p.out, "\r\033[K"+p.line())
		}
	}
}

func (p *progress) line() string {
	done := p.done.Load()
	rate := float64(done) / time.Since(p.start).Seconds() / 1e6
	if p.total <= 0 {
		return fmt.Sprintf("%s %s, %.1f MB/s", humanBytes(done), p.verb, rate)
	}
	const width = 30
	filled := int(width * min(done, p.total) / max(p.total, 1))
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = '-'
		if i < filled {
			bar[i] = '#'
		}
	}
	return fmt.Sprintf("[%s] %s / %s, %.0f MB/s", bar, humanBytes(done), humanBytes(p.total), rate)
}

func (p *progress) stop() {
	close(p.quit)
	p.wg.Wait()
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}
