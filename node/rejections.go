package node

import (
	"log/slog"
	"sort"
	"sync"
	"time"
)

// maxRejectionKeys bounds how many (kind, peer) pairs are remembered; past
// it, new pairs are logged at debug level only.
const maxRejectionKeys = 4096

// rejections counts the messages this node refused, by kind, and logs the
// first refusal of each kind from each peer as a warning and the rest at
// debug level, so a misbehaving peer cannot flood the log.
type rejections struct {
	mu sync.Mutex
	// Guarded by mu.
	seen  map[rejectionKey]bool
	total map[string]int64 // by kind
	// over counts, per member, input refused because the member was over
	// one of its bounds (records kept, attestations or challenges per
	// second); at most maxRejectionKeys members.
	over map[string]*overBound
}

// overBound is one member's record of refusals for being over a bound.
type overBound struct {
	Peer    string
	Refused int64
	Since   time.Time // the first refusal
	Last    string    // the latest refusal, for people
}

type rejectionKey struct{ kind, peer string }

// note records one refusal from peer p and logs it as described above.
func (r *rejections) note(logger *slog.Logger, kind, p string, err error, args ...any) {
	r.mu.Lock()
	if r.seen == nil {
		r.seen, r.total = map[rejectionKey]bool{}, map[string]int64{}
	}
	r.total[kind]++
	key := rejectionKey{kind, p}
	first := !r.seen[key] && len(r.seen) < maxRejectionKeys
	if first {
		r.seen[key] = true
	}
	r.mu.Unlock()
	args = append([]any{"kind", kind, "peer", p, "err", err}, args...)
	if first {
		logger.Warn("refused a message (further ones of this kind from this peer are logged at debug level)", args...)
		return
	}
	logger.Debug("refused a message", args...)
}

// count is how many messages of a kind were refused.
func (r *rejections) count(kind string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total[kind]
}

// noteOverBound records input from member p refused for being over one of
// its bounds, and logs it as note does.
func (r *rejections) noteOverBound(logger *slog.Logger, kind, p string, err error, now time.Time) {
	r.note(logger, kind, p, err)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.over == nil {
		r.over = map[string]*overBound{}
	}
	o := r.over[p]
	if o == nil {
		if len(r.over) >= maxRejectionKeys {
			return
		}
		o = &overBound{Peer: p, Since: now}
		r.over[p] = o
	}
	o.Refused++
	o.Last = err.Error()
}

// overBounds returns the members refused for being over a bound, by peer.
func (r *rejections) overBounds() []overBound {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]overBound, 0, len(r.over))
	for _, o := range r.over {
		out = append(out, *o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Peer < out[j].Peer })
	return out
}
