package replication

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// Summary is what a node sends a peer on reconnect so the peer can return
// the attestations it lacks: per holder, the highest Seq recorded, how
// many (object, holder) entries, and an XOR digest over them.
type Summary struct {
	Holders []HolderSummary // sorted by Holder
}

// HolderSummary summarises one holder's entries in a ledger.
type HolderSummary struct {
	Holder PeerID
	MaxSeq uint64
	Count  uint64
	Digest uint64 // XOR of a hash of (object, Seq) over the entries
}

const (
	summaryVersion    = 1
	maxSummaryHolders = 1 << 16
)

// Summary returns the ledger's summary for anti-entropy.
func (l *Ledger) Summary() Summary {
	var s Summary
	for i, st := range l.stats {
		if st.count > 0 {
			s.Holders = append(s.Holders, HolderSummary{Holder: PeerID(l.peers.name(uint32(i))),
				MaxSeq: st.maxSeq, Count: st.count, Digest: st.digest})
		}
	}
	slices.SortFunc(s.Holders, func(a, b HolderSummary) int { return strings.Compare(string(a.Holder), string(b.Holder)) })
	return s
}

// Missing returns the attestations the remote ledger lacks, judged from
// its summary. For each holder it sends what is newer than the remote's
// highest Seq; when both have the same highest Seq but their digests
// differ (the remote missed an older entry) it sends all of that holder's
// entries. Running it both ways on every reconnect converges both ledgers
// within two exchanges.
func (l *Ledger) Missing(remote Summary) []Attestation {
	theirs := make(map[uint32]HolderSummary, len(remote.Holders))
	for _, h := range remote.Holders {
		if id, ok := l.peers.lookup(string(h.Holder)); ok {
			theirs[id] = h
		}
	}
	sendAll := make([]bool, len(l.stats))
	for i, st := range l.stats {
		r, ok := theirs[uint32(i)]
		sendAll[i] = ok && r.MaxSeq == st.maxSeq && (r.Digest != st.digest || r.Count != st.count)
	}
	var out []Attestation
	for obj, e := range l.objects {
		for _, p := range e.pairs {
			r, known := theirs[p.holder]
			if !known || p.seq > r.MaxSeq || sendAll[p.holder] {
				out = append(out, l.attestation(obj, e, p))
			}
		}
	}
	return out
}

// MarshalBinary returns the canonical encoding of a summary.
func (s *Summary) MarshalBinary() ([]byte, error) {
	if len(s.Holders) > maxSummaryHolders {
		return nil, fmt.Errorf("%w: %d holders in summary", ErrMalformed, len(s.Holders))
	}
	b := binary.AppendUvarint([]byte{summaryVersion}, uint64(len(s.Holders)))
	for i, h := range s.Holders {
		if len(h.Holder) == 0 || len(h.Holder) > maxIDLen ||
			(i > 0 && strings.Compare(string(s.Holders[i-1].Holder), string(h.Holder)) >= 0) {
			return nil, fmt.Errorf("%w: summary holders not sorted, distinct and named", ErrMalformed)
		}
		b = appendString(b, string(h.Holder))
		b = binary.AppendUvarint(b, h.MaxSeq)
		b = binary.AppendUvarint(b, h.Count)
		b = binary.BigEndian.AppendUint64(b, h.Digest)
	}
	return b, nil
}

// DecodeSummary parses untrusted bytes; only canonical encodings pass.
func DecodeSummary(data []byte) (Summary, error) {
	r := reader{buf: data}
	if v := r.byte(); v != summaryVersion {
		return Summary{}, fmt.Errorf("%w: summary version %d", ErrMalformed, v)
	}
	n := r.int(maxSummaryHolders)
	var s Summary
	for i := 0; i < n && r.err == nil; i++ {
		h := HolderSummary{Holder: PeerID(r.string()), MaxSeq: r.uvarint(), Count: r.uvarint()}
		if d := r.bytes(8); d != nil {
			h.Digest = binary.BigEndian.Uint64(d)
		}
		s.Holders = append(s.Holders, h)
	}
	if r.err == nil && len(r.buf) != 0 {
		r.fail("trailing data")
	}
	if r.err != nil {
		return Summary{}, r.err
	}
	again, err := s.MarshalBinary()
	if err != nil {
		return Summary{}, err
	}
	if !bytes.Equal(again, data) {
		return Summary{}, fmt.Errorf("%w: summary not canonical", ErrMalformed)
	}
	return s, nil
}
