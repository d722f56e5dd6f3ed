package eventlog

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"

	"github.com/cairn-fed/cairn/netstat"
)

const (
	segmentMagic = "CRNEVL01"
	headerBytes  = 16 // length, crc, seq
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// storedEvent is the payload's JSON: the event's fields without the
// cursor that netstat.Event.MarshalJSON adds. The header holds the seq.
type storedEvent netstat.Event

// encodePayload returns the JSON stored for ev.
func encodePayload(ev netstat.Event) ([]byte, error) {
	ev.Seq = 0
	b, err := json.Marshal(storedEvent(ev))
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	if len(b) > MaxEventBytes {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrEventTooLarge, len(b), MaxEventBytes)
	}
	return b, nil
}

// appendRecord frames payload as the record of event seq.
func appendRecord(dst []byte, seq uint64, payload []byte) []byte {
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.BigEndian.AppendUint32(dst, 0)
	dst = binary.BigEndian.AppendUint64(dst, seq)
	dst = append(dst, payload...)
	rec := dst[start:]
	binary.BigEndian.PutUint32(rec[4:8], recordSum(rec[:headerBytes], payload))
	return dst
}

// recordSum is the CRC-32C of a header's length and seq and the payload.
func recordSum(hdr, payload []byte) uint32 {
	sum := crc32.Checksum(hdr[0:4], castagnoli)
	sum = crc32.Update(sum, castagnoli, hdr[8:16])
	return crc32.Update(sum, castagnoli, payload)
}

// header is a record's fixed part.
type header struct {
	length uint32
	sum    uint32
	seq    uint64
}

func parseHeader(b []byte) header {
	return header{
		length: binary.BigEndian.Uint32(b[0:4]),
		sum:    binary.BigEndian.Uint32(b[4:8]),
		seq:    binary.BigEndian.Uint64(b[8:16]),
	}
}

// recordReader reads records one by one from a segment's body.
type recordReader struct {
	br  *bufio.Reader
	off int64 // bytes of the segment consumed, magic included
	hdr [headerBytes]byte
	buf []byte
}

// nextHeader reads the next record's header; io.EOF means a clean end.
func (r *recordReader) nextHeader() (header, error) {
	n, err := io.ReadFull(r.br, r.hdr[:])
	r.off += int64(n)
	switch {
	case err == io.EOF:
		return header{}, io.EOF
	case err != nil:
		return header{}, fmt.Errorf("%w: short header at offset %d", ErrCorrupt, r.off-int64(n))
	}
	h := parseHeader(r.hdr[:])
	if h.length > MaxEventBytes {
		return header{}, fmt.Errorf("%w: record of %d bytes at offset %d", ErrCorrupt, h.length, r.off-headerBytes)
	}
	return h, nil
}

// skip passes over the payload of h without checking it.
func (r *recordReader) skip(h header) error {
	n, err := r.br.Discard(int(h.length))
	r.off += int64(n)
	if err != nil {
		return fmt.Errorf("%w: short record at offset %d", ErrCorrupt, r.off-int64(n)-headerBytes)
	}
	return nil
}

// payload reads and checks the payload of h.
func (r *recordReader) payload(h header) ([]byte, error) {
	r.buf = slices.Grow(r.buf[:0], int(h.length))[:h.length]
	n, err := io.ReadFull(r.br, r.buf)
	r.off += int64(n)
	at := r.off - int64(n) - headerBytes
	if err != nil {
		return nil, fmt.Errorf("%w: short record at offset %d", ErrCorrupt, at)
	}
	if recordSum(r.hdr[:], r.buf) != h.sum {
		return nil, fmt.Errorf("%w: checksum mismatch at offset %d", ErrCorrupt, at)
	}
	return r.buf, nil
}

// decodeEvent turns a checked payload into the event with sequence seq.
func decodeEvent(seq uint64, payload []byte) (netstat.Event, error) {
	var s storedEvent
	if err := json.Unmarshal(payload, &s); err != nil {
		return netstat.Event{}, fmt.Errorf("%w: event %d: %w", ErrCorrupt, seq, err)
	}
	s.Seq = seq
	return netstat.Event(s), nil
}

// scanResult describes the valid prefix of a segment.
type scanResult struct {
	valid   int64  // bytes of the valid prefix, magic included
	lastSeq uint64 // seq of its last record, or first-1 when it has none
	err     error  // why the scan stopped before the end; nil at a clean end
}

// scanSegment checks every record of a segment whose first event is
// first, as Open does for the last segment, and reports how much of it is
// intact. r must be positioned after the magic.
func scanSegment(r io.Reader, first uint64) scanResult {
	rr := &recordReader{br: bufio.NewReaderSize(r, 64<<10), off: int64(len(segmentMagic))}
	res := scanResult{valid: rr.off, lastSeq: first - 1}
	for {
		h, err := rr.nextHeader()
		if errors.Is(err, io.EOF) {
			return res
		}
		if err == nil && h.seq != res.lastSeq+1 {
			err = fmt.Errorf("%w: seq %d where %d was expected at offset %d", ErrCorrupt, h.seq, res.lastSeq+1, res.valid)
		}
		if err == nil {
			_, err = rr.payload(h)
		}
		if err != nil {
			res.err = err
			return res
		}
		res.valid, res.lastSeq = rr.off, h.seq
	}
}
