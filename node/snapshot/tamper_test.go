package snapshot

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/cairn-fed/cairn/node/repo"
)

// Tools the tests use to take a snapshot apart and put it back together
// altered, as whoever can write the file could.

// entries reads every entry of a tar.
func entries(t *testing.T, data []byte) ([]*tar.Header, [][]byte) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var hs []*tar.Header
	var bodies [][]byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs, bodies
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		hs, bodies = append(hs, h), append(bodies, b)
	}
}

func build(t *testing.T, hs []*tar.Header, bodies [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, h := range hs {
		h.Size = int64(len(bodies[i]))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(bodies[i])
	}
	tw.Close()
	return buf.Bytes()
}

func edit(t *testing.T, data []byte, fn func(hs []*tar.Header, bodies [][]byte) ([]*tar.Header, [][]byte)) []byte {
	hs, bodies := entries(t, data)
	hs, bodies = fn(hs, bodies)
	return build(t, hs, bodies)
}

func withoutEntry(t *testing.T, data []byte, name string) []byte {
	return edit(t, data, func(hs []*tar.Header, bodies [][]byte) ([]*tar.Header, [][]byte) {
		for i, h := range hs {
			if h.Name == name {
				return append(hs[:i:i], hs[i+1:]...), append(bodies[:i:i], bodies[i+1:]...)
			}
		}
		t.Fatalf("no entry %s", name)
		return nil, nil
	})
}

func rewriteEntry(t *testing.T, data []byte, name string, body []byte) []byte {
	return edit(t, data, func(hs []*tar.Header, bodies [][]byte) ([]*tar.Header, [][]byte) {
		for i, h := range hs {
			if h.Name == name {
				bodies[i] = body
			}
		}
		return hs, bodies
	})
}

func renameEntry(t *testing.T, data []byte, from, to string) []byte {
	return edit(t, data, func(hs []*tar.Header, bodies [][]byte) ([]*tar.Header, [][]byte) {
		for _, h := range hs {
			if h.Name == from {
				h.Name = to
			}
		}
		return hs, bodies
	})
}

func rewriteBlock(t *testing.T, data []byte) []byte {
	return edit(t, data, func(hs []*tar.Header, bodies [][]byte) ([]*tar.Header, [][]byte) {
		for i, h := range hs {
			if strings.HasPrefix(h.Name, blockPrefix) {
				bodies[i] = []byte("another block")
			}
		}
		return hs, bodies
	})
}

// swapKeys puts the sealed keys of another snapshot into data.
func swapKeys(t *testing.T, data, other []byte) []byte {
	oh, ob := entries(t, other)
	return edit(t, data, func(hs []*tar.Header, bodies [][]byte) ([]*tar.Header, [][]byte) {
		for i, h := range hs {
			for j := range oh {
				if h.Name == keysEntry && oh[j].Name == keysEntry {
					bodies[i] = ob[j]
				}
			}
		}
		return hs, bodies
	})
}

func appendEntry(t *testing.T, data []byte) []byte {
	return edit(t, data, func(hs []*tar.Header, bodies [][]byte) ([]*tar.Header, [][]byte) {
		return append(hs, &tar.Header{Name: repoPrefix + repo.RosterFile, Typeflag: tar.TypeReg, Mode: 0o600}), append(bodies, []byte("late"))
	})
}

// retar copies a genuine snapshot, lets edit change the repo/ entries, and
// writes a fresh manifest: what anyone who can write the file can do.
func retar(t *testing.T, src []byte, edit func(name string, data []byte) []byte, extra func(out *bytes.Buffer, tw *tar.Writer, add func(Entry))) []byte {
	tr := tar.NewReader(bytes.NewReader(src))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	var entries []Entry
	add := func(e Entry) { entries = append(entries, e) }
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		data, _ := io.ReadAll(tr)
		if hdr.Name == manifestEntry {
			continue
		}
		if edit != nil {
			data = edit(hdr.Name, data)
		}
		hdr.Size = int64(len(data))
		tw.WriteHeader(hdr)
		tw.Write(data)
		sum := sha256.Sum256(data)
		add(Entry{Name: hdr.Name, Size: hdr.Size, SHA256: hex.EncodeToString(sum[:])})
	}
	if extra != nil {
		tw.Flush()
		extra(&out, tw, add)
	}
	m, _ := json.Marshal(manifest{Format: Format, Entries: entries})
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: manifestEntry, Size: int64(len(m)), Mode: 0o600})
	tw.Write(m)
	tw.Close()
	return out.Bytes()
}

// rawHeader is a ustar header block.
func rawHeader(name string, typ byte, size int64) []byte {
	b := make([]byte, 512)
	copy(b[0:100], name)
	copy(b[100:108], "0000600\x00")
	copy(b[108:116], "0000000\x00")
	copy(b[116:124], "0000000\x00")
	copy(b[124:136], fmt.Sprintf("%011o\x00", size))
	copy(b[136:148], "00000000000\x00")
	b[156] = typ
	copy(b[257:263], "ustar\x00")
	copy(b[263:265], "00")
	for i := 148; i < 156; i++ {
		b[i] = ' '
	}
	var sum int64
	for _, c := range b {
		sum += int64(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func paxRecord(k, v string) string {
	body := " " + k + "=" + v + "\n"
	n := len(body)
	for {
		s := strconv.Itoa(n) + body
		if len(s) == n {
			return s
		}
		n = len(s)
	}
}

func pad(b []byte) []byte {
	if r := len(b) % 512; r != 0 {
		b = append(b, make([]byte, 512-r)...)
	}
	return b
}
