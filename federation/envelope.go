package federation

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode"
)

// An envelope makes bytes copyable: prefix + lowercase base32 (no padding)
// of [format u8][body length u32][body][checksum 8 bytes], where the
// checksum is the first 8 bytes of SHA-256(prefix || format || length ||
// body). Base32 survives double-click selection, case changes and line
// wrapping (whitespace is ignored); the declared length tells a truncated
// copy apart from a corrupted one.
const (
	envelopeHeader   = 5
	envelopeChecksum = 8
)

var base32Encoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func encodeBase32(b []byte) string {
	return strings.ToLower(base32Encoding.EncodeToString(b))
}

func sealEnvelope(prefix string, format byte, body []byte) string {
	raw := append([]byte{format}, binary.BigEndian.AppendUint32(nil, uint32(len(body)))...)
	raw = append(raw, body...)
	raw = append(raw, envelopeSum(prefix, raw)...)
	return prefix + encodeBase32(raw)
}

func envelopeSum(prefix string, data []byte) []byte {
	h := sha256.New()
	h.Write([]byte(prefix))
	h.Write(data)
	return h.Sum(nil)[:envelopeChecksum]
}

// openEnvelope checks the prefix, format, length and checksum of s and
// returns the body. maxBody bounds the declared body length.
func openEnvelope(s, prefix string, format byte, maxBody int) ([]byte, error) {
	s = compact(s)
	if !strings.HasPrefix(s, prefix) {
		return nil, fmt.Errorf("does not start with %q: %w", prefix, ErrCorrupted)
	}
	raw, cut, err := decodeBase32(s[len(prefix):])
	if err != nil {
		return nil, err
	}
	if len(raw) < envelopeHeader {
		return nil, fmt.Errorf("only %d bytes: %w", len(raw), ErrTruncated)
	}
	if raw[0] != format {
		return nil, fmt.Errorf("format %d (this node reads %d): %w", raw[0], format, ErrUnsupportedVersion)
	}
	return checkEnvelope(raw, cut, prefix, maxBody)
}

func checkEnvelope(raw []byte, cut bool, prefix string, maxBody int) ([]byte, error) {
	n := int(binary.BigEndian.Uint32(raw[1:envelopeHeader]))
	if n > maxBody {
		return nil, fmt.Errorf("declares %d bytes (limit %d): %w", n, maxBody, ErrTooLarge)
	}
	want := envelopeHeader + n + envelopeChecksum
	switch {
	case len(raw) < want:
		return nil, fmt.Errorf("have %d of %d bytes, copy the whole string: %w", len(raw), want, ErrTruncated)
	case len(raw) > want || cut:
		return nil, fmt.Errorf("%d bytes after the end: %w", len(raw)-want, ErrCorrupted)
	case !bytes.Equal(raw[want-envelopeChecksum:], envelopeSum(prefix, raw[:want-envelopeChecksum])):
		return nil, fmt.Errorf("checksum mismatch: %w", ErrCorrupted)
	}
	return raw[envelopeHeader : envelopeHeader+n], nil
}

// decodeBase32 decodes case-insensitive unpadded base32. A string cut at
// an impossible length (1, 3 or 6 characters past a block) loses its last
// character; cut reports that, or stray bits in the last character, so the
// caller can tell a truncated string (too short) from a corrupted one.
func decodeBase32(s string) (raw []byte, cut bool, err error) {
	if rem := len(s) % 8; rem == 1 || rem == 3 || rem == 6 {
		s, cut = s[:len(s)-1], true
	}
	raw, err = base32Encoding.DecodeString(strings.ToUpper(s))
	if err != nil {
		return nil, false, fmt.Errorf("not base32 (%v): %w", err, ErrCorrupted)
	}
	// Stray bits in the last character make a second spelling of the same
	// bytes; treat it like a cut so that only truncation excuses it.
	if encodeBase32(raw) != strings.ToLower(s) {
		cut = true
	}
	return raw, cut, nil
}

// compact lowercases s and drops all whitespace, so that tokens wrapped
// by mail clients or terminals still parse.
func compact(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}
