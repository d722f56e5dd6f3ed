package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// progress draws a one-line progress bar on a terminal while data is sent.
type progress struct {
	out   *os.File
	total int64
	done  atomic.Int64
	start time.Time
	quit  chan struct{}
	wg    sync.WaitGroup
}

// startProgress draws to out only when it is a terminal; elsewhere it is inert.
func startProgress(out *os.File, total int64) *progress {
	p := &progress{out: out, total: total, start: time.Now(), quit: make(chan struct{})}
	if !isTerminal(out) {
		return p
	}
	p.wg.Add(1)
	go p.draw()
	return p
}

func (p *progress) wrap(r io.Reader) io.Reader { return &countingReader{r: r, n: &p.done} }

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
		return fmt.Sprintf("%s sent, %.0f MB/s", humanBytes(done), rate)
	}
	const width = 30
	filled := int(width * done / max(p.total, 1))
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
