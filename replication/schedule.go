package replication

import (
	"container/heap"
	"time"
)

// wakeQueue holds the times at which objects need another look (a
// challenge falls due, a grace period ends, a proof goes stale).
type wakeQueue struct {
	items wakeHeap
	next  map[ObjectID]time.Time // earliest queued wake per object
}

type wake struct {
	at  time.Time
	obj ObjectID
}

type wakeHeap []wake

func (h wakeHeap) Len() int { return len(h) }
func (h wakeHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].obj < h[j].obj
}
func (h wakeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *wakeHeap) Push(x any)   { *h = append(*h, x.(wake)) }
func (h *wakeHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	*h = old[:len(old)-1]
	return w
}

// push queues obj for at, unless an earlier wake is already queued.
func (q *wakeQueue) push(obj ObjectID, at time.Time) {
	if q.next == nil {
		q.next = map[ObjectID]time.Time{}
	}
	if t, ok := q.next[obj]; ok && !t.After(at) {
		return
	}
	q.next[obj] = at
	heap.Push(&q.items, wake{at: at, obj: obj})
}

// due pops every object whose wake time has come.
func (q *wakeQueue) due(now time.Time) []ObjectID {
	var out []ObjectID
	for len(q.items) > 0 && !q.items[0].at.After(now) {
		w := heap.Pop(&q.items).(wake)
		if t, ok := q.next[w.obj]; ok && t.Equal(w.at) {
			delete(q.next, w.obj)
			out = append(out, w.obj)
		}
	}
	return out
}
