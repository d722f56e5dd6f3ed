package catalog

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzDecode: a version or a head from anywhere never panics a decoder,
// and a version that decodes replays without panicking.
func FuzzDecode(f *testing.F) {
	v := Version{Format: Format, Catalog: "cat", Seq: 1, Time: t0, Checkpoint: true, Entries: []Entry{entry("a", 3)}}
	good, _ := v.Encode()
	f.Add(good)
	h, _ := json.Marshal(signedHead(&testing.T{}, newKey(1), 3))
	f.Add(h)
	f.Add([]byte(`{"format":1,"catalog":"cat","seq":2,"previous":"x","changes":[{"put":{"cid":"b"}},{"forget":"a"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if v, err := Decode(data, "cat"); err == nil {
			Replay([]Version{v}, time.Now())
		}
		var h Head
		if json.Unmarshal(data, &h) == nil {
			NewHeads().Offer(h, "m", t0)
			h.Open([32]byte{})
		}
	})
}
