package pins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
)

// Backend is what the service needs of the node.
type Backend interface {
	// CheckCID reports whether cid names a DAG the node can pin.
	CheckCID(cid string) error
	// Pin fetches the DAG under cid from origins (or finds it here) and
	// keeps it; it returns the object that holds it, and whether the
	// owner had that object already.
	Pin(ctx context.Context, cid string, origins []string, name string) (object string, existing bool, err error)
	// Pinned reports whether object has the copies its owner asked for.
	Pinned(ctx context.Context, object string) bool
	// Unpin deletes object: no pin request keeps it any more.
	Unpin(ctx context.Context, object string) error
	// Delegates are multiaddrs a client may connect to, so that the node
	// can fetch from it.
	Delegates() []string
}

// Errors the HTTP layer maps to the spec's reasons.
var (
	ErrTooMany      = errors.New("pins: too many pending pin requests")
	ErrNotFound     = errors.New("pins: no such pin request")
	ErrBadRequest   = errors.New("pins: bad request")
	ErrUnauthorized = errors.New("pins: unauthorized")
)

// workers is how many pin requests are fetched at once.
const workers = 2

// maxPending bounds the requests of one user that are queued or being
// fetched: a user cannot fill the queue for everyone. maxRequests bounds
// all of one user's requests, failed ones included, which are kept until
// the user removes them.
const (
	maxPending  = 1000
	maxRequests = 10000
)

// Service keeps pin requests and tokens in a datastore and works through
// the queue. Its mutex guards the maps only: no lock is held across the
// datastore or the backend.
type Service struct {
	ds      datastore.Datastore
	backend Backend
	logger  *slog.Logger
	now     func() time.Time

	mu       sync.Mutex
	requests map[string]*Request           // by ID; guarded by mu
	tokens   map[string]Token              // by token hash; guarded by mu
	running  map[string]context.CancelFunc // fetches under way, by request ID; guarded by mu

	queue  chan string
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var requestPrefix = datastore.NewKey("/requests")

// New loads the requests and tokens in ds and starts the workers;
// requests a stop interrupted are queued again.
func New(ds datastore.Datastore, backend Backend, logger *slog.Logger) (*Service, error) {
	s := &Service{
		ds: ds, backend: backend, logger: logger, now: time.Now,
		requests: map[string]*Request{}, tokens: map[string]Token{}, running: map[string]context.CancelFunc{},
		queue: make(chan string, 1<<16),
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if err := s.load(ctx); err != nil {
		cancel()
		return nil, err
	}
	for _, r := range s.requests {
		if r.Status == Queued || (r.Status == Pinning && r.Object == "") {
			r.Status = Queued
			s.enqueue(r.ID)
		}
	}
	for range workers {
		s.wg.Go(func() { s.work(ctx) })
	}
	return s, nil
}

// Close stops the workers; fetches under way end and are queued again at
// the next start.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

func (s *Service) load(ctx context.Context) error {
	for prefix, into := range map[datastore.Key]func(key string, v []byte) error{
		requestPrefix: func(_ string, v []byte) error {
			var r Request
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			s.requests[r.ID] = &r
			return nil
		},
		tokenPrefix: func(key string, v []byte) error {
			var t Token
			if err := json.Unmarshal(v, &t); err != nil {
				return err
			}
			s.tokens[datastore.NewKey(key).BaseNamespace()] = t
			return nil
		},
	} {
		res, err := s.ds.Query(ctx, query.Query{Prefix: prefix.String()})
		if err != nil {
			return fmt.Errorf("pins: read %s: %w", prefix, err)
		}
		for e := range res.Next() {
			if e.Error != nil {
				res.Close()
				return fmt.Errorf("pins: read %s: %w", prefix, e.Error)
			}
			if err := into(e.Key, e.Value); err != nil {
				res.Close()
				return fmt.Errorf("pins: record %s: %w", e.Key, err)
			}
		}
		res.Close()
	}
	return nil
}

func (s *Service) enqueue(id string) {
	select {
	case s.queue <- id:
	default:
		s.logger.Warn("pin queue full; the request waits for the next start", "requestid", id)
	}
}

func (s *Service) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-s.queue:
			s.process(ctx, id)
		}
	}
}

// process fetches one queued request.
func (s *Service) process(ctx context.Context, id string) {
	s.mu.Lock()
	r, ok := s.requests[id]
	if !ok || r.Status != Queued {
		s.mu.Unlock()
		return
	}
	r.Status = Pinning
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.running[id] = cancel
	pin, snapshot := r.Pin, *r
	s.mu.Unlock()
	s.persist(ctx, snapshot)

	object, existing, err := s.backend.Pin(ctx, pin.CID, pin.Origins, pin.Name)

	s.mu.Lock()
	delete(s.running, id)
	// An object the owner had before, and no request of this service
	// made, is the owner's: removing requests never deletes it.
	borrowed := err == nil && existing && !s.keptLocked(object)
	r, ok = s.requests[id]
	if !ok { // removed while it was fetched
		kept := s.keptLocked(object)
		s.mu.Unlock()
		if err == nil && !kept && !borrowed {
			s.unpin(object)
		}
		return
	}
	switch {
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		r.Status = Queued // the service stops: fetch again at the next start
	case err != nil:
		r.Status, r.Error = Failed, err.Error()
	case r.Object == object:
		// A replacement handed it this object while it was fetched
		// (Replace): whether it is borrowed was settled then.
	default:
		r.Object, r.Borrowed = object, borrowed
	}
	snapshot = *r
	s.mu.Unlock()
	s.persist(context.Background(), snapshot)
	if err != nil && r.Status == Failed {
		s.logger.Warn("pin request failed", "requestid", id, "cid", pin.CID, "err", err)
	}
}

func (s *Service) unpin(object string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.backend.Unpin(ctx, object); err != nil {
		s.logger.Warn("delete an object no pin request keeps", "object", object, "err", err)
	}
}

// keptLocked reports whether a request keeps object. s.mu is held.
func (s *Service) keptLocked(object string) bool {
	for _, r := range s.requests {
		if r.Object == object {
			return true
		}
	}
	return false
}

// persist writes r, unless it was removed meanwhile: a removal between
// the write and the check below deletes the record again, so a removed
// request never comes back after a restart.
func (s *Service) persist(ctx context.Context, r Request) {
	key := requestPrefix.ChildString(r.ID)
	data, err := json.Marshal(r)
	if err == nil {
		err = s.ds.Put(ctx, key, data)
	}
	if err != nil {
		s.logger.Error("record a pin request", "requestid", r.ID, "err", err)
	}
	s.mu.Lock()
	_, present := s.requests[r.ID]
	s.mu.Unlock()
	if !present {
		if err := s.ds.Delete(ctx, key); err != nil {
			s.logger.Error("forget a removed pin request", "requestid", r.ID, "err", err)
		}
	}
}

// Add records a new pin request of user and queues it.
func (s *Service) Add(ctx context.Context, user string, pin Pin) (Request, error) {
	if err := pin.check(); err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if err := s.backend.CheckCID(pin.CID); err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	s.mu.Lock()
	pending, all := 0, 0
	for _, o := range s.requests {
		if o.User != user {
			continue
		}
		all++
		if o.Status == Queued || o.Status == Pinning && o.Object == "" {
			pending++
		}
	}
	s.mu.Unlock()
	switch {
	case pending >= maxPending:
		return Request{}, fmt.Errorf("%w: %d of yours are queued or being fetched; wait for them", ErrTooMany, pending)
	case all >= maxRequests:
		return Request{}, fmt.Errorf("%w: you have %d pin requests; remove some (failed ones too) first", ErrTooMany, all)
	}
	r := Request{ID: newID(), User: user, Pin: pin, Created: s.now().UTC(), Status: Queued}
	data, err := json.Marshal(r)
	if err != nil {
		return Request{}, err
	}
	if err := s.ds.Put(ctx, requestPrefix.ChildString(r.ID), data); err != nil {
		return Request{}, fmt.Errorf("record the pin request: %w", err)
	}
	if err := s.ds.Sync(ctx, requestPrefix); err != nil {
		return Request{}, fmt.Errorf("record the pin request: %w", err)
	}
	stored := r // the worker changes the stored copy; the caller gets this one
	s.mu.Lock()
	s.requests[r.ID] = &stored
	s.mu.Unlock()
	s.enqueue(r.ID)
	return r, nil
}

// Get returns user's request id with its current status.
func (s *Service) Get(ctx context.Context, user, id string) (Request, Status, error) {
	s.mu.Lock()
	r, ok := s.requests[id]
	var snapshot Request
	if ok {
		snapshot = *r
	}
	s.mu.Unlock()
	if !ok || snapshot.User != user {
		return Request{}, "", fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return snapshot, s.status(ctx, snapshot), nil
}

// status is r's status now: a fetched DAG is pinned once its object has
// the copies it wants.
func (s *Service) status(ctx context.Context, r Request) Status {
	if r.Status == Pinning && r.Object != "" && s.backend.Pinned(ctx, r.Object) {
		return Pinned
	}
	return r.Status
}

// List returns user's requests that pass f, newest first, with their
// statuses and how many passed in all.
func (s *Service) List(ctx context.Context, user string, f Filter) ([]Request, []Status, int) {
	s.mu.Lock()
	var mine []Request
	for _, r := range s.requests {
		if r.User == user {
			mine = append(mine, *r)
		}
	}
	s.mu.Unlock()
	return page(mine, func(r Request) Status { return s.status(ctx, r) }, f)
}

// Remove deletes user's request id; its object is deleted when no other
// request keeps it. The request leaves the map first, under the lock, so
// two removals of requests sharing an object agree on which is last.
func (s *Service) Remove(ctx context.Context, user, id string) error {
	s.mu.Lock()
	r, ok := s.requests[id]
	if !ok || r.User != user {
		s.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	delete(s.requests, id)
	if cancel := s.running[id]; cancel != nil {
		cancel()
	}
	object := r.Object
	unpin := object != "" && !r.Borrowed && !s.keptLocked(object)
	s.mu.Unlock()
	if err := s.ds.Delete(ctx, requestPrefix.ChildString(id)); err != nil {
		return fmt.Errorf("forget the pin request: %w", err)
	}
	if unpin {
		if err := s.backend.Unpin(ctx, object); err != nil {
			return fmt.Errorf("delete the pinned object: %w", err)
		}
	}
	return nil
}

// Replace adds pin for user and removes the request id, as one call. A
// replacement for the same CID (a new name or meta) keeps the object the
// old request had, instead of deleting it and pinning it anew.
func (s *Service) Replace(ctx context.Context, user, id string, pin Pin) (Request, error) {
	old, _, err := s.Get(ctx, user, id)
	if err != nil {
		return Request{}, err
	}
	r, err := s.Add(ctx, user, pin)
	if err != nil {
		return Request{}, err
	}
	if pin.CID == old.Pin.CID && old.Object != "" {
		s.mu.Lock()
		// The worker may have taken the new request already (Pinning, no
		// object yet): it still gets the old object, or removing the old
		// request would delete it while the new one fetches it again.
		if cur, ok := s.requests[r.ID]; ok && cur.Object == "" && (cur.Status == Queued || cur.Status == Pinning) {
			cur.Status, cur.Object, cur.Borrowed = Pinning, old.Object, old.Borrowed
			r = *cur
		}
		s.mu.Unlock()
		s.persist(ctx, r)
	}
	if err := s.Remove(ctx, user, id); err != nil && !errors.Is(err, ErrNotFound) {
		return r, err
	}
	return r, nil
}
