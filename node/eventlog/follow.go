package eventlog

import (
	"context"
	"sync"

	"github.com/cairn-fed/cairn/netstat"
)

// Subscription delivers the events after a cursor: first the stored ones,
// read from disk, then live ones as they are synced, with no gap and no
// duplicate across the hand-off.
type Subscription struct {
	// Set at construction.
	l        *Log
	events   chan netstat.Event // closed when the subscription ends
	caughtUp chan struct{}      // closed when it has turned live
	stop     chan struct{}      // closed by Close
	stopOnce sync.Once
	exited   chan struct{} // closed when its goroutine has returned
	ended    chan struct{} // closed with events

	// Guarded by l.mu.
	last uint64 // seq of the last event sent while live
	over bool   // events and ended are closed
	err  error  // why it ended
}

// Follow starts a subscription to the events after the cursor (the zero
// cursor starts at the oldest kept event). It ends when ctx is done,
// Close is called, the log closes, it falls more than
// Config.SubscriberBuffer events behind (ErrSubscriberTooSlow), or
// reading fails, for instance with ErrCursorAhead or ErrCursorExpired;
// Err then says which.
func (l *Log) Follow(ctx context.Context, after netstat.Cursor) *Subscription {
	s := &Subscription{
		l:        l,
		events:   make(chan netstat.Event, l.cfg.SubscriberBuffer),
		caughtUp: make(chan struct{}),
		stop:     make(chan struct{}),
		exited:   make(chan struct{}),
		ended:    make(chan struct{}),
	}
	l.mu.Lock()
	if l.closed {
		l.endSub(s, ErrClosed)
		l.mu.Unlock()
		close(s.exited)
		return s
	}
	l.wg.Add(1)
	l.mu.Unlock()
	go s.run(ctx, after)
	return s
}

// Events returns the channel of events, closed when the subscription
// ends. Save each event's Cursor to resume after a crash.
func (s *Subscription) Events() <-chan netstat.Event { return s.events }

// CaughtUp returns a channel closed once every stored event has been
// sent and new ones are delivered live.
func (s *Subscription) CaughtUp() <-chan struct{} { return s.caughtUp }

// Err returns why the subscription ended, once Events is closed: nil
// after Close, ctx's error, ErrClosed, ErrSubscriberTooSlow or a read
// error.
func (s *Subscription) Err() error {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	return s.err
}

// Close ends the subscription and waits for its goroutine.
func (s *Subscription) Close() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.exited
}

func (s *Subscription) run(ctx context.Context, after netstat.Cursor) {
	defer s.l.wg.Done()
	defer close(s.exited)
	live, err := s.catchUp(ctx, after)
	if !live {
		s.end(err)
		return
	}
	select {
	case <-ctx.Done():
		s.end(ctx.Err())
	case <-s.stop:
		s.end(nil)
	case <-s.l.sig.quit:
		s.end(ErrClosed)
	case <-s.ended:
	}
}

// catchUp sends stored events until none is left, then registers the
// subscription for live delivery; live is false when it ended instead.
// While catching up this goroutine is the only sender on events.
func (s *Subscription) catchUp(ctx context.Context, after netstat.Cursor) (live bool, err error) {
	r, err := s.l.newReader(after)
	if err != nil {
		return false, err
	}
	defer r.close()
	for {
		ev, ok, err := r.read()
		if err != nil {
			return false, err
		}
		if !ok {
			if s.goLive(r.next - 1) {
				return true, nil
			}
			continue
		}
		select {
		case s.events <- ev:
		case <-ctx.Done():
			return false, ctx.Err()
		case <-s.stop:
			return false, nil
		case <-s.l.sig.quit:
			return false, ErrClosed
		}
	}
}

// goLive registers s for live delivery if last is still the last synced
// event. The writer publishes under the same lock, so every event after
// last reaches s exactly once: from disk before, or live after.
func (s *Subscription) goLive(last uint64) bool {
	l := s.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || last != l.durableSeq {
		return false
	}
	s.last = last
	l.subs[s] = struct{}{}
	close(s.caughtUp)
	return true
}

func (s *Subscription) end(err error) {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	s.l.endSub(s, err)
}

// endSub ends s with err unless it has ended already. l.mu must be held.
func (l *Log) endSub(s *Subscription, err error) {
	if s.over {
		return
	}
	s.over, s.err = true, err
	delete(l.subs, s)
	close(s.events)
	close(s.ended)
}

// publish hands newly synced events to the live subscribers, ending those
// whose buffer is full. l.mu must be held.
func (l *Log) publish(events []netstat.Event) {
	for s := range l.subs {
		for _, ev := range events {
			if ev.Seq <= s.last {
				continue
			}
			select {
			case s.events <- ev:
				s.last = ev.Seq
				continue
			default:
			}
			l.logger.Info("event log: subscriber too slow, ended", "last_seq", s.last, "buffer", cap(s.events))
			l.endSub(s, ErrSubscriberTooSlow)
			break
		}
	}
}
