package replication

import (
	"crypto/ed25519"
	"errors"
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func sampleAttestation(holder string) Attestation {
	p := testPolicy("bafyobj", 2, 3)
	a := Attestation{Object: "bafyobj", Holder: PeerID(holder), Policy: &p, Seq: 7, IssuedAt: t0,
		Held: true, Target: 3, Leaves: 16,
		Proofs: []Proof{{Peer: "p1", At: t0.Add(-time.Second), Result: ResultPass}, {Peer: "p2", At: t0, Result: ResultTimeout}}}
	a.Sign(testKey(holder))
	return a
}

func TestAttestationRoundTrip(t *testing.T) {
	a := sampleAttestation("h")
	data, err := a.MarshalBinary()
	if err != nil {
		t.Fatalf("MarshalBinary: %v", err)
	}
	got, err := DecodeAttestation(data)
	if err != nil {
		t.Fatalf("DecodeAttestation: %v", err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Errorf("round trip = %+v, want %+v", got, a)
	}
	if err := got.Verify(testKey("h").Public().(ed25519.PublicKey)); err != nil {
		t.Errorf("Verify after round trip: %v", err)
	}
}

func TestAttestationVerifyRejects(t *testing.T) {
	pub := testKey("h").Public().(ed25519.PublicKey)
	tests := []struct {
		name   string
		change func(*Attestation)
	}{
		{"seq changed", func(a *Attestation) { a.Seq++ }},
		{"held flipped", func(a *Attestation) { a.Held = false }},
		{"proof changed", func(a *Attestation) { a.Proofs[0].Result = ResultFail }},
		{"signed by another key", func(a *Attestation) { a.Sign(testKey("other")) }},
		{"no signature", func(a *Attestation) { a.Signature = nil }},
	}
	for _, tt := range tests {
		a := sampleAttestation("h")
		tt.change(&a)
		if err := a.Verify(pub); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: Verify = %v, want ErrBadSignature", tt.name, err)
		}
	}
}

func TestDecodeAttestationRejectsMalformed(t *testing.T) {
	sample := sampleAttestation("h")
	good, _ := sample.MarshalBinary()
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"wrong version", append([]byte{9}, good[1:]...)},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(append([]byte{}, good...), 0)},
		{"non-minimal varint", append([]byte{attVersion, 0x87, 0x00}, good[2:]...)},
	}
	for _, tt := range tests {
		if _, err := DecodeAttestation(tt.data); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", tt.name, err)
		}
	}
}

func TestReceiveRejections(t *testing.T) {
	members := []Member{
		{Peer: "self", Operator: "S", Region: "eu", PublicKey: testKey("self").Public().(ed25519.PublicKey)},
		{Peer: "h", Operator: "H", Region: "eu", PublicKey: testKey("h").Public().(ed25519.PublicKey)},
		{Peer: "gone", Operator: "G", Region: "eu", PublicKey: testKey("gone").Public().(ed25519.PublicKey)},
	}
	c := newTestCore(t, "self")
	c.SetMembers(members, t0)
	c.SetMembers(members[:2], t0) // revoke "gone"
	ok := sampleAttestation("h")
	if err := c.Receive(ok, t0); err != nil {
		t.Fatalf("Receive(valid) = %v", err)
	}
	future := sampleAttestation("h")
	future.Seq, future.IssuedAt = 8, t0.Add(time.Hour)
	future.Sign(testKey("h"))
	forged := sampleAttestation("h")
	forged.Seq = 9
	tests := []struct {
		name string
		a    Attestation
		want error
	}{
		{"replay", ok, ErrReplay},
		{"unknown member", sampleAttestation("stranger"), ErrUnknownMember},
		{"revoked member", sampleAttestation("gone"), ErrRevokedMember},
		{"future", future, ErrFutureIssuedAt},
		{"bad signature", forged, ErrBadSignature},
		{"malformed", Attestation{Holder: "h"}, ErrMalformed},
	}
	for _, tt := range tests {
		if err := c.Receive(tt.a, t0); !errors.Is(err, tt.want) {
			t.Errorf("%s: Receive = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func newTestCore(t testing.TB, self string) *Core {
	t.Helper()
	c, err := New(simConfig(self), PeerID(self))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func FuzzDecodeAttestation(f *testing.F) {
	sample := sampleAttestation("h")
	good, _ := sample.MarshalBinary()
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodeAttestation(data)
		if err != nil {
			return
		}
		again, err := a.MarshalBinary()
		if err != nil || string(again) != string(data) {
			t.Fatalf("decoded attestation does not re-encode to its input: %v", err)
		}
	})
}
