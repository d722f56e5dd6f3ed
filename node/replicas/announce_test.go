package replicas

import (
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

func testCID(t *testing.T, s string) cid.Cid {
	t.Helper()
	h, err := multihash.Sum([]byte(s), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.Raw, h)
}

// TestAnnouncerQueuesOnceAndBoundsWorkers: an object waiting to be
// announced is queued once however often it is asked for, at most
// announceWorkers workers run, and each retires when the queue is empty.
func TestAnnouncerQueuesOnceAndBoundsWorkers(t *testing.T) {
	var a Announcements
	started := 0
	for i := range 2 * announceWorkers {
		c := testCID(t, string(rune('a'+i)))
		if a.Queue(c) {
			started++
		}
		if a.Queue(c) {
			started++ // the same object again: never a new worker once all run
		}
	}
	if started != announceWorkers {
		t.Errorf("%d workers started, want %d", started, announceWorkers)
	}
	var announced []cid.Cid
	for {
		c, ok := a.Next()
		if !ok {
			break
		}
		announced = append(announced, c)
	}
	if len(announced) != 2*announceWorkers {
		t.Errorf("%d objects announced, want %d (each once)", len(announced), 2*announceWorkers)
	}
	if a.workers != announceWorkers-1 {
		t.Errorf("%d workers left after one retired, want %d", a.workers, announceWorkers-1)
	}
	if !a.Queue(announced[0]) {
		t.Error("an object announced before, queued again with a worker free, started none")
	}
	if len(a.waiting) != 1 {
		t.Errorf("%d objects wait after queuing an announced one again, want 1", len(a.waiting))
	}
}
