package netstat

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestEventTypeWords(t *testing.T) {
	want := []string{"object_added", "copy_verified", "target_reached", "copy_lost", "repair_started",
		"repair_finished", "tombstone_applied", "deletion_acknowledged", "peer_joined", "peer_left", "state_changed"}
	for i, w := range want {
		typ := EventType(i + 1)
		var back EventType
		if typ.String() != w || back.UnmarshalText([]byte(w)) != nil || back != typ {
			t.Errorf("event type %d = %q (back %d), want %q", typ, typ.String(), back, w)
		}
	}
	var u EventType
	if err := u.UnmarshalText([]byte("something_new")); err != nil || u != EventUnknown {
		t.Errorf("unknown word decodes to %v, %v; want EventUnknown, nil", u, err)
	}
}

func TestEventJSON(t *testing.T) {
	e := Event{Seq: 7, At: epoch, Type: EventStateChanged, Object: cid, From: StateReplicating, To: StateBackedUp, Copies: 3, Target: 3}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"seq":7,"at":"2026-05-01T12:00:00Z","type":"state_changed","object":"bafyobject","from":"replicating","to":"backed_up","copies":3,"target":3,"cursor":"` + CursorAt(7).String() + `"}`
	if string(b) != want {
		t.Errorf("JSON = %s\nwant   %s", b, want)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil || back != e {
		t.Errorf("round trip = %+v, %v; want %+v", back, err, e)
	}
	bad := strings.Replace(string(b), `"seq":7`, `"seq":8`, 1)
	if err := json.Unmarshal([]byte(bad), &back); !errors.Is(err, ErrMalformedCursor) {
		t.Errorf("cursor not matching seq: error = %v, want ErrMalformedCursor", err)
	}
	peer := Event{Seq: 1, At: epoch, Type: EventPeerLeft, Peer: "p2"}
	b, _ = json.Marshal(peer)
	if strings.Contains(string(b), `"from"`) || strings.Contains(string(b), `"object"`) {
		t.Errorf("peer event JSON has object fields: %s", b)
	}
}

func TestEventDescribe(t *testing.T) {
	tests := []struct {
		e    Event
		want string
	}{
		{Event{Type: EventCopyVerified, Object: "o", Peer: "p2", Operator: "opB", Region: "eu"}, "copy_verified o on p2 (opB, eu)"},
		{Event{Type: EventCopyLost, Object: "o", Peer: "p3", Operator: "opC", Detail: "timeout"}, "copy_lost o on p3 (opC): timeout"},
		{Event{Type: EventStateChanged, Object: "o", From: StateAtRisk, To: StateBackedUp}, "state_changed o: at_risk -> backed_up"},
		{Event{Type: EventPeerJoined, Peer: "p4", Operator: "opD", Region: "us"}, "peer_joined p4 (opD, us)"},
	}
	for _, tt := range tests {
		if got := tt.e.Describe(); got != tt.want {
			t.Errorf("Describe = %q, want %q", got, tt.want)
		}
	}
}
