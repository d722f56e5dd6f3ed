package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// Frames delimit messages on Cairn's streams: an unsigned varint length,
// then that many bytes.

// WriteFrame writes data as one frame.
func WriteFrame(w io.Writer, data []byte) error {
	if _, err := w.Write(binary.AppendUvarint(nil, uint64(len(data)))); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}

// ReadFrame reads one frame of at most limit bytes, refusing a longer one
// before reading it; io.EOF at a frame boundary means the stream ended
// cleanly.
func ReadFrame(r *bufio.Reader, limit int) ([]byte, error) {
	size, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if size > uint64(limit) {
		return nil, fmt.Errorf("frame of %d bytes exceeds %d", size, limit)
	}
	// Grow the buffer as bytes arrive: a peer that declares a large frame
	// and sends nothing holds no more than a chunk of memory.
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, r, int64(size)); err != nil {
		return nil, fmt.Errorf("read frame: %w", err)
	}
	return buf.Bytes(), nil
}
