// Package pins serves the IPFS Pinning Service API (spec v1.0.0) on a
// listener of its own, so that `ipfs pin remote` and other pinning clients
// can hand DAGs to the federation: pin requests kept per user, bearer
// tokens that allow nothing else, a queue that fetches each DAG from its
// origins, and the mapping of Cairn's replication states onto the spec's
// statuses ("pinned" is what `backed_up` is: the owner's target of
// verified copies on distinct operators). Removing a pin deletes its
// object with a tombstone once no other request keeps it.
package pins

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Status is a pin request's status, as the spec names them.
type Status string

// The spec's statuses.
const (
	Queued  Status = "queued"
	Pinning Status = "pinning"
	Pinned  Status = "pinned"
	Failed  Status = "failed"
)

func parseStatus(s string) (Status, bool) {
	st := Status(s)
	return st, slices.Contains([]Status{Queued, Pinning, Pinned, Failed}, st)
}

// Limits of a pin request, from the spec.
const (
	maxNameLen   = 255
	maxOrigins   = 20
	maxOriginLen = 1024
	maxMetaKeys  = 1000
	maxMetaBytes = 64 << 10
	maxCIDFilter = 10
	defaultLimit = 10
	maxLimit     = 1000
)

// Pin is what a client asks for: the spec's Pin object.
type Pin struct {
	CID     string            `json:"cid"`
	Name    string            `json:"name,omitempty"`
	Origins []string          `json:"origins,omitempty"`
	Meta    map[string]string `json:"meta,omitempty"`
}

// check validates the fields the spec bounds; the CID and origins are
// checked by the backend.
func (p Pin) check() error {
	switch {
	case p.CID == "":
		return fmt.Errorf("cid is required")
	case len(p.Name) > maxNameLen || !utf8.ValidString(p.Name):
		return fmt.Errorf("name must be valid UTF-8 of at most %d bytes", maxNameLen)
	case len(p.Origins) > maxOrigins:
		return fmt.Errorf("at most %d origins, got %d", maxOrigins, len(p.Origins))
	case slices.ContainsFunc(p.Origins, func(o string) bool { return len(o) > maxOriginLen }):
		return fmt.Errorf("an origin is longer than %d bytes", maxOriginLen)
	case len(p.Meta) > maxMetaKeys:
		return fmt.Errorf("at most %d meta keys, got %d", maxMetaKeys, len(p.Meta))
	}
	size := 0
	for k, v := range p.Meta {
		size += len(k) + len(v)
	}
	if size > maxMetaBytes {
		return fmt.Errorf("meta holds %d bytes, at most %d", size, maxMetaBytes)
	}
	return nil
}

// Request is a stored pin request: the pin, whose it is, and how far it
// got. Status is Queued, Pinning (being fetched), Failed, or Pinning with
// Object set once the DAG is here: whether it is then pinned is the
// object's replication state, asked when the request is shown.
type Request struct {
	ID      string    `json:"requestid"`
	User    string    `json:"user"`
	Pin     Pin       `json:"pin"`
	Created time.Time `json:"created"`
	Status  Status    `json:"status"`
	Object  string    `json:"object,omitempty"` // the Cairn object holding the DAG
	// Borrowed marks an Object the owner had before this service pinned
	// it: removing the request leaves it.
	Borrowed bool   `json:"borrowed,omitempty"`
	Error    string `json:"error,omitempty"` // why it failed
}

// Filter selects requests, as GET /pins's query does.
type Filter struct {
	CIDs     []string
	Name     string
	Match    string // exact (default), iexact, partial, ipartial
	Statuses []Status
	Before   time.Time
	After    time.Time
	Limit    int
	Meta     map[string]string
}

// matches reports whether r, whose current status is st, passes f.
func (f Filter) matches(r Request, st Status) bool {
	if len(f.CIDs) > 0 && !slices.Contains(f.CIDs, r.Pin.CID) {
		return false
	}
	if f.Name != "" && !matchName(f.Match, r.Pin.Name, f.Name) {
		return false
	}
	if !slices.Contains(f.Statuses, st) {
		return false
	}
	if !f.Before.IsZero() && !r.Created.Before(f.Before) {
		return false
	}
	if !f.After.IsZero() && !r.Created.After(f.After) {
		return false
	}
	for k, v := range f.Meta {
		if got, ok := r.Pin.Meta[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func matchName(mode, name, want string) bool {
	switch mode {
	case "iexact":
		return strings.EqualFold(name, want)
	case "partial":
		return strings.Contains(name, want)
	case "ipartial":
		return strings.Contains(strings.ToLower(name), strings.ToLower(want))
	}
	return name == want
}

// page sorts matching requests newest first and keeps the first limit;
// count is how many matched in all, as the spec's "count" says.
func page(rs []Request, statusOf func(Request) Status, f Filter) (out []Request, statuses []Status, count int) {
	var matched []Request
	var sts []Status
	for _, r := range rs {
		st := statusOf(r)
		if f.matches(r, st) {
			matched = append(matched, r)
			sts = append(sts, st)
		}
	}
	idx := make([]int, len(matched))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if c := matched[b].Created.Compare(matched[a].Created); c != 0 {
			return c
		}
		return strings.Compare(matched[a].ID, matched[b].ID)
	})
	for _, i := range idx[:min(len(idx), f.Limit)] {
		out = append(out, matched[i])
		statuses = append(statuses, sts[i])
	}
	return out, statuses, len(matched)
}
