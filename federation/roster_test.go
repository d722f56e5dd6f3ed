package federation

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRosterRoundTrip(t *testing.T) {
	a := newTestAuthority(t, 1)
	r := testFederation(t, a)
	r, err := Revoke(r, testMember(3, "", "").PeerID, "left the federation", a, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r, err = Renew(r, testMember(2, "", "").PeerID, t0.Add(48*time.Hour), a, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRoster(r.Encode())
	if err != nil {
		t.Fatalf("DecodeRoster: %v", err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("round trip:\ngot  %+v\nwant %+v", got, r)
	}
	if err := got.Verify(a.FederationID(), t0.Add(3*time.Hour)); err != nil {
		t.Errorf("Verify after round trip: %v", err)
	}
}

// encodeModified signs a valid roster, lets change break a rule, and
// re-encodes it bypassing Sign's checks.
func encodeModified(t *testing.T, a *Authority, change func(*Roster)) []byte {
	t.Helper()
	r := testFederation(t, a).clone()
	change(&r)
	r.Signature = a.sign(rosterDomain, r.body())
	return r.Encode()
}

func TestDecodeRosterRejects(t *testing.T) {
	a := newTestAuthority(t, 1)
	valid := testFederation(t, a).Encode()
	hugeCount := bytes.Clone(valid)
	// The member count follows format, ID, name, version, time and key.
	countAt := 1 + 2 + idLen + 2 + len("test federation") + 8 + 8 + 1 + 32
	if got := binary.BigEndian.Uint32(valid[countAt:]); got != 4 {
		t.Fatalf("member count at offset %d reads %d, want 4", countAt, got)
	}
	binary.BigEndian.PutUint32(hugeCount[countAt:], 1<<31)
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"future format", append([]byte{2}, valid[1:]...), ErrUnsupportedVersion},
		{"truncated", valid[:len(valid)-1], ErrMalformed},
		{"trailing byte", append(bytes.Clone(valid), 0), ErrMalformed},
		{"huge member count", hugeCount, ErrMalformed},
		{"too large", make([]byte, MaxRosterSize+1), ErrTooLarge},
		{"unsigned", encodeModified(t, a, func(r *Roster) {})[:len(valid)-65], ErrMalformed},
		{"duplicate member", encodeModified(t, a, func(r *Roster) { r.Members[1] = r.Members[0] }), ErrInvalid},
		{"unsorted members", encodeModified(t, a, func(r *Roster) { r.Members[0], r.Members[1] = r.Members[1], r.Members[0] }), ErrInvalid},
		{"shared public key", encodeModified(t, a, func(r *Roster) { r.Members[1].PublicKey = r.Members[0].PublicKey }), ErrInvalid},
		{"empty operator", encodeModified(t, a, func(r *Roster) { r.Members[0].Operator = "" }), ErrInvalid},
		{"control character in region", encodeModified(t, a, func(r *Roster) { r.Members[0].Region = "eu\x1b[2J" }), ErrInvalid},
		{"invalid UTF-8 operator", encodeModified(t, a, func(r *Roster) { r.Members[0].Operator = "ac\xffme" }), ErrInvalid},
		{"padded operator", encodeModified(t, a, func(r *Roster) { r.Members[0].Operator = " acme" }), ErrInvalid},
		{"long region", encodeModified(t, a, func(r *Roster) { r.Members[0].Region = strings.Repeat("x", MaxNameLen+1) }), ErrMalformed},
		{"version 0", encodeModified(t, a, func(r *Roster) { r.Version = 0 }), ErrInvalid},
		{"no admission time", encodeModified(t, a, func(r *Roster) { r.Members[0].AdmittedAt = time.Time{} }), ErrInvalid},
		{"expires before admission", encodeModified(t, a, func(r *Roster) { r.Members[0].Expires = t0.Add(-time.Hour) }), ErrInvalid},
		{"revoked peer still listed", encodeModified(t, a, func(r *Roster) {
			r.Revoked = []Revocation{{PeerID: r.Members[0].PeerID, At: t0}}
		}), ErrInvalid},
		{"bad federation ID", encodeModified(t, a, func(r *Roster) { r.FederationID = "cfed1" + strings.Repeat("1", 32) }), ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRoster(tt.b)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	a, mallory := newTestAuthority(t, 1), newTestAuthority(t, 66)
	r := testFederation(t, a)
	other := testFederation(t, mallory)
	tampered := r.clone()
	tampered.Members[2].Operator = "acme" // globex's node now counts as acme's
	tests := []struct {
		name string
		r    Roster
		now  time.Time
		want error
	}{
		{"forged: own key, our federation ID", forge(r, mallory.PublicKey(), mallory), t0, ErrBadSignature},
		{"forged: our key, wrong signer", forge(r, a.PublicKey(), mallory), t0, ErrBadSignature},
		{"tampered after signing", tampered, t0, ErrBadSignature},
		{"other federation", other, t0, ErrOtherFederation},
		{"issued in the future", r, t0.Add(-2 * MaxClockSkew), ErrFutureRoster},
		{"unsigned", func() Roster { c := r.clone(); c.Signature = nil; return c }(), t0, ErrBadSignature},
		{"zero roster", Roster{}, t0, ErrOtherFederation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Verify(a.FederationID(), tt.now)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	if err := r.Verify(a.FederationID(), t0); err != nil {
		t.Errorf("valid roster: got %v, want nil", err)
	}
}

func TestSignRejects(t *testing.T) {
	a, b := newTestAuthority(t, 1), newTestAuthority(t, 2)
	r := testFederation(t, a)
	big := r.clone()
	for i := range MaxMembers + 1 {
		big.Members = append(big.Members, testMember(100+i, "x", "y"))
	}
	tests := []struct {
		name string
		r    Roster
		a    *Authority
		want error
	}{
		{"no authority", r, nil, ErrNoAuthority},
		{"other authority", r, b, ErrNotAuthority},
		{"too many members", big, a, ErrTooLarge},
		{"no name", Roster{Version: 1, IssuedAt: t0}, a, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.r.Sign(tt.a); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignCanonicalTimes(t *testing.T) {
	a := newTestAuthority(t, 1)
	local := time.FixedZone("here", 3600)
	r, err := Create("f", a, testMember(0, "acme", "eu"), t0.In(local))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.IssuedAt.Location(); got != time.UTC {
		t.Errorf("IssuedAt location %v, want UTC", got)
	}
	if !r.IssuedAt.Equal(t0) {
		t.Errorf("IssuedAt %v, want %v", r.IssuedAt, t0)
	}
}
