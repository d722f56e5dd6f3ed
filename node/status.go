package node

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/replication"
)

// ObjectStatus is one row of `cairn status` without an argument.
type ObjectStatus struct {
	CID    string        `json:"cid"`
	State  netstat.State `json:"state"`
	Copies int           `json:"copies"`
	Target int           `json:"target"`
	Name   string        `json:"name,omitempty"` // owned objects only
}

// StatusOverview is the answer to `cairn status`: a tally and one row per
// object this node knows of.
type StatusOverview struct {
	Tally   netstat.Tally  `json:"tally"`
	Summary string         `json:"summary"`
	Objects []ObjectStatus `json:"objects"`
}

var viewer, _ = netstat.NewViewer(netstat.DefaultConfig())

// Status answers "is this object safe, and where?" from the local ledger
// alone, with no network traffic. Unknown objects give ErrNotFound.
func (n *Node) Status(ctx context.Context, id string) (netstat.ObjectView, error) {
	in := n.statusInput(ctx, id)
	v, err := viewer.Object(in, time.Now())
	if err != nil {
		return netstat.ObjectView{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return v, nil
}

func (n *Node) statusInput(ctx context.Context, id string) netstat.ObjectInput {
	var in netstat.ObjectInput
	n.repl.do(func(c *replication.Core) { in.Status = c.Status(replication.ObjectID(id), time.Now()) })
	if rec, err := n.index.get(ctx, id); err == nil {
		in.FirstSeen = rec.AddedAt
	}
	in.Deletion = n.deletionProgress(id, time.Now())
	return in
}

// StatusAll summarises every object this node owns, holds or has heard of.
func (n *Node) StatusAll(ctx context.Context) (StatusOverview, error) {
	objs, err := n.List(ctx)
	if err != nil {
		return StatusOverview{}, err
	}
	names := map[string]string{}
	for _, o := range objs {
		names[o.ID] = o.Name
	}
	ov := StatusOverview{Objects: []ObjectStatus{}}
	now := time.Now()
	for _, id := range n.knownObjects(names) {
		in := n.statusInput(ctx, id)
		st := viewer.State(in, now)
		ov.Tally.Add(st)
		ov.Objects = append(ov.Objects, ObjectStatus{CID: id, State: st, Copies: in.Status.Copies, Target: in.Status.Target, Name: names[id]})
	}
	ov.Summary = ov.Tally.String()
	return ov, nil
}

// knownObjects lists the objects in the index and in the ledger, sorted.
func (n *Node) knownObjects(indexed map[string]string) []string {
	seen := map[string]bool{}
	for id := range indexed {
		seen[id] = true
	}
	n.repl.do(func(c *replication.Core) {
		for a := range c.Ledger().All() {
			seen[string(a.Object)] = true
		}
	})
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}
