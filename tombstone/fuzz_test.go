package tombstone

import (
	"bytes"
	"testing"
)

// Every decoder of untrusted input has a fuzz target: it must not panic,
// and whatever it accepts must re-encode to the same bytes.

func FuzzDecodeTombstone(f *testing.F) {
	for _, ts := range []Tombstone{
		signed(f, objA, KindOwner, 1, true, epoch),
		signed(f, objB, KindTakedown, 7, false, epoch),
	} {
		b, _ := ts.MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte{1, 1, 0, 1, 'x'})
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := Decode(b)
		if err != nil {
			return
		}
		out, err := ts.MarshalBinary()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("re-encode = %x, %v; want %x", out, err, b)
		}
	})
}

func FuzzDecodeAck(f *testing.F) {
	b, _ := signedAck(f, objA, KindOwner, 2, "h1", PhaseApplied, epoch).MarshalBinary()
	f.Add(b)
	f.Add([]byte{1, 2, 0, 1, 'x', 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAck(b)
		if err != nil {
			return
		}
		out, err := a.MarshalBinary()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("re-encode = %x, %v; want %x", out, err, b)
		}
	})
}

func FuzzDecodeDigest(f *testing.F) {
	var d Digest
	d[3], d[255] = 42, 1<<63
	b, _ := d.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeDigest(b)
		if err != nil {
			return
		}
		if out, _ := d.MarshalBinary(); !bytes.Equal(out, b) {
			t.Fatalf("re-encode = %x; want %x", out, b)
		}
	})
}

func FuzzDecodeListing(f *testing.F) {
	l := Listing{Buckets: []int{0, 9, 255}, Entries: []ListingEntry{
		{Object: objA, Kind: KindOwner, Version: 3, Fingerprint: 77},
		{Object: objA, Kind: KindTakedown, Version: 1, Fingerprint: 5},
		{Object: objB, Kind: KindOwner, Version: 1, Fingerprint: 9},
	}}
	b, _ := l.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := DecodeListing(b)
		if err != nil {
			return
		}
		out, err := l.MarshalBinary()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("re-encode = %x, %v; want %x", out, err, b)
		}
	})
}

// FuzzDecodeMessage covers the decoder of the tombstone gossip topic,
// which carries tombstones and acknowledgements alike: exactly one result
// comes back, and it re-encodes to the input.
func FuzzDecodeMessage(f *testing.F) {
	tomb, _ := signed(f, objB, KindTakedown, 7, true, epoch).MarshalBinary()
	ack, _ := signedAck(f, objA, KindOwner, 2, "h1", PhasePurged, epoch).MarshalBinary()
	f.Add(tomb)
	f.Add(ack)
	f.Add([]byte{1, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, a, err := DecodeMessage(b)
		if err != nil {
			if ts != nil || a != nil {
				t.Fatalf("error %v with a result", err)
			}
			return
		}
		var out []byte
		switch {
		case ts != nil && a == nil:
			out, err = ts.MarshalBinary()
		case a != nil && ts == nil:
			out, err = a.MarshalBinary()
		default:
			t.Fatalf("got tombstone %v and ack %v; want exactly one", ts, a)
		}
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("re-encode = %x, %v; want %x", out, err, b)
		}
	})
}
