package tombstone

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestTombstoneRoundTrip(t *testing.T) {
	compact := signed(t, objA, KindTakedown, 3, true, epoch)
	r := newRecord(compact, func(s string) string { return s }).compacted()
	tests := []struct {
		name string
		in   Tombstone
	}{
		{"owner delete", signed(t, objA, KindOwner, 1, true, epoch)},
		{"owner restore", signed(t, objA, KindOwner, 2, false, epoch)},
		{"takedown with reason", compact},
		{"takedown compacted", r.tombstone(objA, KindTakedown)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.in.MarshalBinary()
			if err != nil {
				t.Fatalf("MarshalBinary: %v", err)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.in) {
				t.Errorf("Decode(MarshalBinary(x)) = %+v, want %+v", got, tt.in)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	good, err := signed(t, objA, KindOwner, 1, true, epoch).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	objEnd := 4 + len(objA)
	with := func(i int, v byte) []byte { b := bytes.Clone(good); b[i] = v; return b }
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"wire version", with(0, 2)},
		{"message type", with(1, typeAck)},
		{"object length zero", append([]byte{1, 1, 0, 0}, good[4:]...)},
		{"object control byte", with(4, '\n')},
		{"version zero", append(append(bytes.Clone(good[:objEnd]), 0, 0, 0, 0, 0, 0, 0, 0), good[objEnd+8:]...)},
		{"deleted flag 2", with(objEnd+8, 2)},
		{"kind 3", with(objEnd+9, 3)},
		{"reason form 7", with(objEnd+10, 7)},
		{"owner with digest", with(objEnd+10, reasonDigest)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(tt.in); !errors.Is(err, ErrMalformed) {
				t.Errorf("Decode() err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestAckRoundTrip(t *testing.T) {
	in := signedAck(t, objA, KindOwner, 4, "h1", PhasePurged, epoch)
	b, err := in.MarshalBinary()
	if err != nil {
		t.Fatalf("MarshalBinary: %v", err)
	}
	got, err := DecodeAck(b)
	if err != nil {
		t.Fatalf("DecodeAck: %v", err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("DecodeAck = %+v, want %+v", got, in)
	}
	if _, err := DecodeAck(b[:len(b)-1]); !errors.Is(err, ErrMalformed) {
		t.Errorf("DecodeAck(truncated) err = %v, want ErrMalformed", err)
	}
	if _, err := Decode(b); !errors.Is(err, ErrMalformed) {
		t.Errorf("Decode(ack bytes) err = %v, want ErrMalformed", err)
	}
}

func TestDigestAndListingRoundTrip(t *testing.T) {
	s := newTestSet(t)
	mustApply(t, s, signed(t, objA, KindOwner, 1, true, epoch), epoch)
	mustApply(t, s, signed(t, objB, KindTakedown, 1, true, epoch), epoch)
	d := s.Digest()
	db, _ := d.MarshalBinary()
	if got, err := DecodeDigest(db); err != nil || got != d {
		t.Errorf("DecodeDigest = %v, %v; want the digest back", got, err)
	}
	l := s.Listing(AllBuckets())
	lb, err := l.MarshalBinary()
	if err != nil {
		t.Fatalf("Listing.MarshalBinary: %v", err)
	}
	got, err := DecodeListing(lb)
	if err != nil || !reflect.DeepEqual(got, l) {
		t.Errorf("DecodeListing = %+v, %v; want %+v", got, err, l)
	}
	huge := append(bytes.Clone(lb[:2+DigestBuckets/8]), 0xff, 0xff, 0xff, 0xff)
	if _, err := DecodeListing(huge); !errors.Is(err, ErrMalformed) {
		t.Errorf("DecodeListing(count 2^32-1) err = %v, want ErrMalformed", err)
	}
}

func TestDecodeMessageDispatches(t *testing.T) {
	ts := signed(t, objA, KindOwner, 1, true, epoch)
	ack := signedAck(t, objA, KindOwner, 1, "h1", PhaseApplied, epoch)
	tb, _ := ts.MarshalBinary()
	ab, _ := ack.MarshalBinary()
	if got, a, err := DecodeMessage(tb); err != nil || a != nil || got == nil || got.Version != 1 {
		t.Errorf("tombstone: %v %v %v", got, a, err)
	}
	if got, a, err := DecodeMessage(ab); err != nil || got != nil || a == nil || a.Holder != "h1" {
		t.Errorf("ack: %v %v %v", got, a, err)
	}
	digest, _ := (Digest{}).MarshalBinary()
	for _, bad := range [][]byte{nil, {1}, digest, append([]byte{9}, tb[1:]...)} {
		if _, _, err := DecodeMessage(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeMessage(%x): %v, want ErrMalformed", bad, err)
		}
	}
}
