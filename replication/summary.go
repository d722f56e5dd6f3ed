package replication

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// Summary is what a node sends a peer on reconnect so the peer can return
// the attestations it lacks: per holder, the highest Seq recorded.
type Summary struct {
	Holders []HolderSummary // sorted by Holder
}

// HolderSummary is the newest record a ledger has of one holder.
type HolderSummary struct {
	Holder PeerID
	MaxSeq uint64
}

const (
	summaryVersion    = 2
	maxSummaryHolders = 1 << 16
)

// Summary returns the ledger's summary for anti-entropy.
func (l *Ledger) Summary() Summary {
	var s Summary
	for i, st := range l.stats {
		if st.count > 0 {
			s.Holders = append(s.Holders, HolderSummary{Holder: PeerID(l.peers.name(uint32(i))), MaxSeq: st.maxSeq})
		}
	}
	slices.SortFunc(s.Holders, func(a, b HolderSummary) int { return strings.Compare(string(a.Holder), string(b.Holder)) })
	return s
}

// Missing returns the attestations of objects wanted accepts that are
// newer than what the remote ledger records of their holder, judged from
// its summary. Ledgers hold different sets of objects (each node hears of
// the objects it has a part in), so a record older than the remote's
// newest of the same holder is not sent: the holder's own delivery, which
// it retries until the peer has it, fills such gaps, and every holder
// re-attests its copies as challenges refresh its proofs.
func (l *Ledger) Missing(remote Summary, wanted func(ObjectID) bool) []Attestation {
	theirs := make(map[uint32]uint64, len(remote.Holders))
	for _, h := range remote.Holders {
		if id, ok := l.peers.lookup(string(h.Holder)); ok {
			theirs[id] = h.MaxSeq
		}
	}
	if l.coveredBy(theirs) {
		return nil
	}
	return l.newerThan(theirs, wanted)
}

// newerThan walks every record for those newer than theirs (interned
// holder to the remote's newest Seq) of objects wanted accepts.
func (l *Ledger) newerThan(theirs map[uint32]uint64, wanted func(ObjectID) bool) []Attestation {
	var out []Attestation
	for e := range l.objects.all() {
		obj := e.id
		checked, want := false, false
		for _, p := range e.pairs {
			if seq, known := theirs[p.holder]; known && p.seq <= seq {
				continue
			}
			if !checked {
				checked, want = true, wanted(obj)
			}
			if want {
				out = append(out, l.attestation(obj, e, p))
			}
		}
	}
	return out
}

// coveredBy reports whether the remote summary (interned holder to its
// newest Seq) has every holder's newest Seq this ledger records: then no
// record is newer than the remote's, and answering walks no object. In a
// quiet federation that is every periodic pull.
func (l *Ledger) coveredBy(theirs map[uint32]uint64) bool {
	for h, st := range l.stats {
		if st.count == 0 {
			continue
		}
		if seq, known := theirs[uint32(h)]; !known || st.maxSeq > seq {
			return false
		}
	}
	return true
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
		s.Holders = append(s.Holders, HolderSummary{Holder: PeerID(r.string()), MaxSeq: r.uvarint()})
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
