package main

import (
	"crypto/rand"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/replication"
)

// hostileFloodBound is the most ledger records the suite lets one member
// add on an honest node with objects nobody else attests: a fixed node
// bounds what one member can make it store.
const hostileFloodBound = 1000

// flood: M attests 5,000 random objects to each honest node.
func (f *hostileFed) flood(t *testing.T) {
	const count = 5000
	atts := make([]replication.Attestation, count)
	for i := range atts {
		atts[i] = f.m.attestation(randomCID(t), 1, 3, nil)
	}
	ls, known := map[string]string{}, map[string]int{}
	repairs := map[string]int{}
	for _, n := range f.honest {
		ls[n.name], known[n.name] = lsLine(t, n), objectsKnown(t, n)
		repairs[n.name] = countLogLines(n.log(), `msg="repair: fetching a copy"`)
	}
	start := time.Now()
	var sent []string
	for _, n := range f.honest {
		refused := 0
		for i := 0; i < count; i += 500 {
			if err := f.m.attest(n.fedNode, atts[i:i+500]...); err != nil {
				refused++
			}
		}
		sent = append(sent, fmt.Sprintf("%s %d streams reset", n.name, refused))
	}
	took := time.Since(start)
	var changes, grown, exposed []string
	// A fixed node starts no repair for objects only M claims; wait the
	// window for one to start on a node that does.
	eventually(hostileWindow, func() bool {
		for _, n := range f.honest {
			if countLogLines(n.log(), `msg="repair: fetching a copy"`) > repairs[n.name] {
				return true
			}
		}
		return false
	})
	for _, n := range f.honest {
		g := objectsKnown(t, n) - known[n.name]
		grown = append(grown, fmt.Sprintf("%s +%d", n.name, g))
		if g > hostileFloodBound {
			changes = append(changes, fmt.Sprintf("%s recorded %d of M's %d objects (bound %d)", n.name, g, count, hostileFloodBound))
		}
		if after := lsLine(t, n); after != ls[n.name] {
			changes = append(changes, fmt.Sprintf("%s ls: %s -> %s", n.name, ls[n.name], after))
		}
		if r := countLogLines(n.log(), `msg="repair: fetching a copy"`) - repairs[n.name]; r > 0 {
			changes = append(changes, fmt.Sprintf("%s started %d repair fetches", n.name, r))
		}
		exposed = append(exposed, fmt.Sprintf("%s %s", n.name, f.overBound(t, n)))
	}
	for _, e := range exposed {
		if strings.HasSuffix(e, "none") {
			changes = append(changes, "no over-bound count in /metrics or cairn health: "+e)
		}
	}
	report(t, fmt.Sprintf("attests %d random objects to each honest node", count), changes,
		fmt.Sprintf("ledger growth %s; sent in %s (%s); over-bound count: %s; refusals logged: %s",
			strings.Join(grown, ", "), took.Round(time.Millisecond), strings.Join(sent, ", "), strings.Join(exposed, ", "), f.refusals(f.m.id().String())))
}

func randomCID(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	mh, err := multihash.Sum(b, multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.Raw, mh).String()
}

// objectsKnown is how many objects n's ledger records (cairn status).
func objectsKnown(t testing.TB, n *honestNode) int {
	t.Helper()
	var ov node.StatusOverview
	cairnJSON(t, n.repo, &ov, "status")
	return ov.Tally.Total()
}

// overBound finds what n reports of M's attestations refused over a
// per-member bound: a /metrics sample naming "over_bound" (with M's peer
// or operator as a label), or a cairn health field naming it. Today's
// node has neither; the fix adds a per-member "over bound" count.
var overBoundSample = regexp.MustCompile(`(?m)^cairn_[a-z_]*over_bound[a-z_]*\{[^}]*\} ([0-9.e+]+)$`)

func (f *hostileFed) overBound(t testing.TB, n *honestNode) string {
	t.Helper()
	for _, m := range overBoundSample.FindAllStringSubmatch(f.scrape(t, n), -1) {
		if m[1] != "0" && (strings.Contains(m[0], f.m.id().String()) || strings.Contains(m[0], "mallory")) {
			return "metrics " + m[0]
		}
	}
	if h := cairn(t, n.repo, "health", "--json"); strings.Contains(h, "over_bound") {
		return "health " + grepLines(h, "over_bound")
	}
	return "none"
}

// scrape returns n's /metrics.
func (f *hostileFed) scrape(t testing.TB, n *honestNode) string {
	t.Helper()
	addr, token := repoAPI(t, n.repo)
	_, body := scrape(t, addr, token)
	return body
}

// metricSum sums a sample named exactly name over the honest nodes.
func (f *hostileFed) metricSum(t testing.TB, name string) string {
	t.Helper()
	var out []string
	for _, n := range f.honest {
		out = append(out, fmt.Sprintf("%s %d", n.name, sample(f.scrape(t, n), name)))
	}
	return strings.Join(out, ", ")
}
