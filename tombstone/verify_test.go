package tombstone

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	owner, authority := pub(ownerKey), pub(authorityKey)
	signedBy := func(kind Kind, key ed25519.PrivateKey, at time.Time) Tombstone {
		ts := Tombstone{Object: objA, Version: 1, Deleted: true, Kind: kind, IssuedAt: at}
		if err := ts.Sign(key); err != nil {
			t.Fatalf("sign: %v", err)
		}
		return ts
	}
	forgedSig := signedBy(KindOwner, attackerKey, epoch)
	forgedSig.Signer = owner // claims to be the owner, signed by someone else
	tampered := signed(t, objA, KindOwner, 1, true, epoch)
	tampered.Version = 2
	restoredFlip := signed(t, objA, KindOwner, 1, true, epoch)
	restoredFlip.Deleted = false
	reasonSwap := signed(t, objA, KindTakedown, 1, true, epoch)
	reasonSwap.Reason = "something else"
	noVersion := signed(t, objA, KindOwner, 1, true, epoch)
	noVersion.Version = 0

	tests := []struct {
		name             string
		ts               Tombstone
		owner, authority ed25519.PublicKey
		want             error
	}{
		{"owner deletes", signed(t, objA, KindOwner, 1, true, epoch), owner, authority, nil},
		{"owner restores", signed(t, objA, KindOwner, 2, false, epoch), owner, authority, nil},
		{"authority takes down", signed(t, objA, KindTakedown, 1, true, epoch), owner, authority, nil},
		{"takedown of object unknown here", signed(t, objA, KindTakedown, 1, true, epoch), nil, authority, nil},
		{"stranger signs owner tombstone", signedBy(KindOwner, attackerKey, epoch), owner, authority, ErrNotOwner},
		{"authority signs owner tombstone", signedBy(KindOwner, authorityKey, epoch), owner, authority, ErrNotOwner},
		{"owner signs takedown", signedBy(KindTakedown, ownerKey, epoch), owner, authority, ErrNotAuthority},
		{"takedown without authority", signed(t, objA, KindTakedown, 1, true, epoch), owner, nil, ErrNotAuthority},
		{"owner unknown", signed(t, objA, KindOwner, 1, true, epoch), nil, authority, ErrUnknownObject},
		{"forged signature", forgedSig, owner, authority, ErrBadSignature},
		{"version changed after signing", tampered, owner, authority, ErrBadSignature},
		{"deleted flag flipped", restoredFlip, owner, authority, ErrBadSignature},
		{"reason changed", reasonSwap, owner, authority, ErrBadSignature},
		{"future beyond skew", signed(t, objA, KindOwner, 1, true, epoch.Add(6*time.Minute)), owner, authority, ErrFutureTimestamp},
		{"future within skew", signed(t, objA, KindOwner, 1, true, epoch.Add(4*time.Minute)), owner, authority, nil},
		{"old is fine", signed(t, objA, KindOwner, 1, true, epoch.Add(-400*24*time.Hour)), owner, authority, nil},
		{"version zero", noVersion, owner, authority, ErrMalformed},
		{"empty", Tombstone{}, owner, authority, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.ts, tt.owner, tt.authority, epoch, 5*time.Minute)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("Verify() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyAck(t *testing.T) {
	good := signedAck(t, objA, KindOwner, 1, "h1", PhaseApplied, epoch)
	tampered := good
	tampered.Phase = PhasePurged
	tests := []struct {
		name string
		ack  Ack
		key  ed25519.PublicKey
		want error
	}{
		{"valid", good, pub(keyFor("h1")), nil},
		{"other holder's key", good, pub(keyFor("h2")), ErrBadSignature},
		{"phase changed", tampered, pub(keyFor("h1")), ErrBadSignature},
		{"no key", good, nil, ErrBadSignature},
		{"future", signedAck(t, objA, KindOwner, 1, "h1", PhaseApplied, epoch.Add(time.Hour)), pub(keyFor("h1")), ErrFutureTimestamp},
		{"empty", Ack{}, pub(keyFor("h1")), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyAck(tt.ack, tt.key, epoch, time.Minute)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("VerifyAck() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		field  string
	}{
		{"default", func(*Config) {}, ""},
		{"no trash window", func(c *Config) { c.TrashWindow = 0 }, "tombstone.trash_window"},
		{"retention below trash", func(c *Config) { c.Retention = time.Hour }, "tombstone.retention"},
		{"no ack timeout", func(c *Config) { c.AckTimeout = 0 }, "tombstone.ack_timeout"},
		{"negative skew", func(c *Config) { c.MaxClockSkew = -1 }, "tombstone.max_clock_skew"},
		{"no jump", func(c *Config) { c.MaxVersionJump = 0 }, "tombstone.max_version_jump"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.modify(&c)
			err := c.Validate()
			if tt.field == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("Validate() = %v, want ErrInvalidConfig naming %s", err, tt.field)
			}
		})
	}
}
