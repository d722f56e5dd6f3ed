// Package chunker splits a byte stream into content-defined chunks.
//
// It implements FastCDC-style normalized chunking over a gear rolling hash:
// no cut is made before Config.Min bytes, a strict mask (more bits) is used
// until Config.Avg bytes, a loose mask (fewer bits) after that, and a cut is
// forced at Config.Max bytes. Cut points depend only on the bytes of the
// stream and the gear table, so inserting or removing bytes changes
// only the chunks around the edit; this is what makes re-adding slightly
// changed data deduplicate. The cut points are part of Cairn's storage
// format: changing the table, the masks or the algorithm changes them.
//
// New uses one public gear table, the same for everyone. NewWithGear takes
// a table derived from a secret (NewGear), so that nobody without the
// secret can predict the cut points of a known file.
package chunker

import (
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// Config holds the chunk size bounds in bytes.
type Config struct {
	// Min is the smallest chunk, except for the last chunk of a stream.
	// Default 128 KiB: no hashing is done for the first Min bytes of each
	// chunk, which is most of the speed of FastCDC.
	Min int
	// Avg is the target average chunk size; it must be a power of two.
	// Default 512 KiB: large enough that per-block overhead (a CID, a
	// manifest entry, a bitswap round trip) stays small, small enough that
	// an edit re-stores little.
	Avg int
	// Max is the largest chunk; a cut is forced there. Default 1 MiB, well
	// under bitswap's 2 MiB block limit even after encryption overhead.
	Max int
}

// DefaultConfig returns the chunk sizes Cairn stores objects with.
func DefaultConfig() Config {
	return Config{Min: 128 << 10, Avg: 512 << 10, Max: 1 << 20}
}

// Validate reports the first field that is out of range.
func (c Config) Validate() error {
	switch {
	case c.Min < 64:
		return fmt.Errorf("chunker.min is invalid: %d is below 64", c.Min)
	case c.Avg <= c.Min || bits.OnesCount(uint(c.Avg)) != 1:
		return fmt.Errorf("chunker.avg is invalid: %d must be a power of two above min (%d)", c.Avg, c.Min)
	case c.Max <= c.Avg:
		return fmt.Errorf("chunker.max is invalid: %d must be above avg (%d)", c.Max, c.Avg)
	case bits.Len(uint(c.Avg)) > 40:
		return fmt.Errorf("chunker.avg is invalid: %d is too large", c.Avg)
	}
	return nil
}

// normalization is the number of mask bits added before Avg and removed
// after it (FastCDC normalization level 2).
const normalization = 2

// readAhead is the read-ahead buffer size in multiples of Max. Leftover
// bytes are moved to the front only when less than Max bytes of room
// remain, so a larger buffer means fewer copies and larger reads.
const readAhead = 4

// firstRead is the read-ahead's size until the stream proves longer: a
// small object, the common case of a pinning node, then costs a few
// kilobytes instead of readAhead*Max bytes allocated and zeroed.
const firstRead = 16 << 10

// Chunker reads a stream and returns it chunk by chunk. It is not safe for
// concurrent use.
type Chunker struct {
	r         io.Reader
	cfg       Config
	maskS     uint64 // strict mask, used between Min and Avg
	maskL     uint64 // loose mask, used between Avg and Max
	gear      *Gear  // the table cut points are computed with
	buf       []byte // read-ahead; holds buf[start:end] not yet returned
	start     int
	end       int
	next      int // length of the chunk at start once Size cut it; 0: not cut yet
	eof       bool
	readError error
}

// New returns a Chunker reading r with the public gear table. The
// configuration must be valid (see Config.Validate); New panics otherwise,
// as that is a programming error.
func New(r io.Reader, cfg Config) *Chunker {
	return NewWithGear(r, cfg, &gear)
}

// NewWithGear is New with the gear table g (see NewGear); a nil g means
// the public table. The Chunker reads g and never changes it, so one table
// may serve many Chunkers at once.
func NewWithGear(r io.Reader, cfg Config, g *Gear) *Chunker {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if g == nil {
		g = &gear
	}
	avgBits := bits.Len(uint(cfg.Avg)) - 1
	return &Chunker{
		r:     r,
		cfg:   cfg,
		maskS: topBits(avgBits + normalization),
		maskL: topBits(avgBits - normalization),
		gear:  g,
		buf:   make([]byte, min(firstRead, readAhead*cfg.Max)),
	}
}

// topBits returns a mask of the n most significant bits. The gear hash's
// high bits depend on the last 64 bytes, its low bits on the last few only.
func topBits(n int) uint64 {
	return ^uint64(0) << (64 - n)
}

// Next returns the next chunk, copied into buf (reallocated when its
// capacity is below the chunk length) and valid until buf is reused.
// At the end of the stream it returns io.EOF; an empty stream has no chunks.
func (c *Chunker) Next(buf []byte) ([]byte, error) {
	n, err := c.Size()
	if err != nil {
		return nil, err
	}
	c.next = 0
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	copy(buf, c.buf[c.start:c.start+n])
	c.start += n
	return buf, nil
}

// Size returns the length of the chunk Next returns next, without taking
// it, so that a caller can size the buffer it passes; io.EOF at the end.
func (c *Chunker) Size() (int, error) {
	if c.next > 0 {
		return c.next, nil
	}
	if err := c.fill(); err != nil {
		return 0, err
	}
	if c.end == c.start {
		return 0, io.EOF
	}
	c.next = c.cut(c.buf[c.start:c.end])
	return c.next, nil
}

// fill reads until Max bytes are buffered or the stream ends. The
// read-ahead starts small and doubles while the stream fills it, up to
// readAhead*Max.
func (c *Chunker) fill() error {
	if c.end-c.start >= c.cfg.Max || c.eof {
		return nil
	}
	if c.readError != nil {
		return c.readError
	}
	if c.start > len(c.buf)-c.cfg.Max {
		c.end = copy(c.buf, c.buf[c.start:c.end])
		c.start = 0
	}
	for c.end-c.start < c.cfg.Max && !c.eof {
		if c.end == len(c.buf) { // only while the read-ahead is below Max
			grown := make([]byte, min(2*len(c.buf), readAhead*c.cfg.Max))
			c.end = copy(grown, c.buf[c.start:c.end])
			c.start, c.buf = 0, grown
		}
		n, err := c.r.Read(c.buf[c.end:])
		c.end += n
		if errors.Is(err, io.EOF) {
			c.eof = true
		} else if err != nil {
			c.readError = fmt.Errorf("read chunker input: %w", err)
			return c.readError
		}
	}
	return nil
}

// cut returns the length of the first chunk of data.
func (c *Chunker) cut(data []byte) int {
	n := len(data)
	if n <= c.cfg.Min {
		return n
	}
	n = min(n, c.cfg.Max)
	normal := min(c.cfg.Avg, n)
	i, h, found := scan(c.gear, data, c.cfg.Min, normal, c.maskS, 0)
	if found {
		return i
	}
	i, _, _ = scan(c.gear, data, normal, n, c.maskL, h)
	return i
}

// scan rolls the gear hash h (h = h<<1 + g[b] for each byte b) over
// data[from:to] and returns the length of the chunk ending at the first
// byte whose hash has no bit of mask set, or to when there is none (found
// is then false), together with the hash at that point. Every position is
// checked: checking only every second or fourth byte (FastCDC 2020) is
// faster but makes cut points depend on the offset modulo 2 or 4, so an
// insert of an odd number of bytes would change every later chunk.
// Indexing the 256-entry array g with a byte needs no bounds check, so a
// keyed table costs the same as the public one.
func scan(g *Gear, data []byte, from, to int, mask uint64, h uint64) (n int, hash uint64, found bool) {
	window := data[from:to]
	i := 0
	for ; i+4 <= len(window); i += 4 {
		quad := window[i : i+4 : i+4]
		if h = (h << 1) + g[quad[0]]; h&mask == 0 {
			return from + i + 1, h, true
		}
		if h = (h << 1) + g[quad[1]]; h&mask == 0 {
			return from + i + 2, h, true
		}
		if h = (h << 1) + g[quad[2]]; h&mask == 0 {
			return from + i + 3, h, true
		}
		if h = (h << 1) + g[quad[3]]; h&mask == 0 {
			return from + i + 4, h, true
		}
	}
	for ; i < len(window); i++ {
		if h = (h << 1) + g[window[i]]; h&mask == 0 {
			return from + i + 1, h, true
		}
	}
	return to, h, false
}
