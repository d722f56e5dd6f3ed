package node

import (
	"log/slog"
	"sync"
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
