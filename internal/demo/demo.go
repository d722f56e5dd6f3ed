// Package demo runs Cairn's guided tour: a few real nodes on loopback, in
// one process, that store and fetch a file while the tour says in plain
// words what happens.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/api"
	"github.com/cairn-fed/cairn/node/dashboard"
	"github.com/cairn-fed/cairn/node/repo"
)

// Options tune the tour.
type Options struct {
	Dir       string // where the nodes' repositories go; empty: a temporary directory, removed afterwards
	Nodes     int    // how many nodes; at least 2
	FileBytes int    // size of the sample file
	Logger    *slog.Logger
	// Keep leaves the nodes and the dashboard running after the tour until
	// ctx ends (Ctrl-C in the CLI).
	Keep bool
}

// DefaultOptions is the tour the README runs.
func DefaultOptions() Options {
	return Options{Nodes: 4, FileBytes: 8 << 20}
}

// member is one node of the tour.
type member struct {
	name             string
	operator, region string
	repo             *repo.Repo
	node             *node.Node
}

// tour holds the tour's state while it runs.
type tour struct {
	out        io.Writer
	opts       Options
	members    []*member // running
	everyone   []*member // including those stopped
	step       int
	capability string      // of the object added in the tour
	cid        string      // its object ID
	api        *api.Server // the first node's API and dashboard
}

// Run plays the tour, writing the narration to out.
func Run(ctx context.Context, out io.Writer, opts Options) error {
	if opts.Nodes < 2 {
		return fmt.Errorf("demo: needs at least 2 nodes, got %d", opts.Nodes)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Dir == "" {
		dir, err := os.MkdirTemp("", "cairn-demo-*")
		if err != nil {
			return fmt.Errorf("demo: make a temporary directory: %w", err)
		}
		defer os.RemoveAll(dir)
		opts.Dir = dir
	}
	t := &tour{out: out, opts: opts}
	defer t.stop()
	return t.play(ctx)
}

// cast is who runs the demo's nodes: several operators in two regions.
var cast = []struct{ name, operator, region string }{
	{"riverside", "Riverside Library", "eu-west"},
	{"hilltop", "Hilltop School", "eu-west"},
	{"harbour", "Harbour Clinic", "us-east"},
	{"orchard", "Orchard Co-op", "us-east"},
	{"lighthouse", "Lighthouse Trust", "eu-north"},
	{"meadow", "Meadow Makerspace", "eu-north"},
}

func (t *tour) say(format string, args ...any) {
	fmt.Fprintf(t.out, format+"\n", args...)
}

func (t *tour) heading(title string) {
	t.step++
	t.say("\n%d. %s", t.step, title)
}

func (t *tour) play(ctx context.Context) error {
	steps := []func(context.Context) error{t.start, t.federate, t.addAndFetch, t.replicate, t.drill, t.snapshotNode, t.outsider, t.deleteObject, t.loseTheMachine}
	for _, s := range steps {
		if err := s(ctx); err != nil {
			return err
		}
		if t.api == nil && len(t.members) > 0 {
			if err := t.serveDashboard(); err != nil {
				return err
			}
		}
	}
	t.say("\nThat is the whole path: a federation of trusted operators; chunk, encrypt, store durably;")
	t.say("fetch by content address, verify, decrypt; copies on independent operators, checked and")
	t.say("repaired without a coordinator; nothing for outsiders; deletion that reaches every holder;")
	t.say("and a lost machine costs nothing but the time to type the paper key on a new one.")
	t.say("Run a real node with `cairn init` and `cairn daemon`; see README.md.")
	if t.opts.Keep {
		t.say("\nThe nodes and the dashboard keep running; press Ctrl-C to stop.")
		<-ctx.Done()
	} else {
		t.say("(Run `cairn demo --keep` to keep the nodes and the dashboard running after the tour.)")
	}
	return nil
}

func (t *tour) start(ctx context.Context) error {
	t.heading(fmt.Sprintf("Starting %d Cairn nodes on this machine (loopback only)", t.opts.Nodes))
	for i := range t.opts.Nodes {
		c := cast[i%len(cast)]
		m, err := t.startMember(c.name, i)
		if err != nil {
			return err
		}
		m.operator, m.region = c.operator, c.region
		t.members = append(t.members, m)
		t.say("   %-10s run by %-18s in %-8s peer %s", m.name, c.operator, c.region, shortID(m.node.ID().PeerID))
	}
	return nil
}

func (t *tour) startMember(name string, i int) (*member, error) {
	dir := filepath.Join(t.opts.Dir, fmt.Sprintf("%d-%s", i, name))
	r, err := repo.Init(dir, repo.InitOptions{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, API: "127.0.0.1:0"})
	if err != nil {
		return nil, fmt.Errorf("demo: create repository for %s: %w", name, err)
	}
	owner, err := r.Owner(nil)
	if err != nil {
		return nil, err
	}
	r.Config.Deletion.TrashWindow.Duration = demoTrashWindow
	r.Config.Catalog.Interval.Duration = 200 * time.Millisecond
	n, err := node.New(r, node.Options{Owner: owner, Logger: t.opts.Logger.With("node", name)})
	if err != nil {
		return nil, fmt.Errorf("demo: start %s: %w", name, err)
	}
	m := &member{name: name, repo: r, node: n}
	t.everyone = append(t.everyone, m)
	return m, nil
}

// federate founds a federation on the first node and admits the others
// with join tokens; they connect through libp2p to the founder.
func (t *tour) federate(ctx context.Context) error {
	founder := t.members[0]
	t.heading(fmt.Sprintf("%s founds the federation %q and admits the others", founder.name, "neighbourhood-backup"))
	info, err := founder.node.FederationCreate(ctx, "neighbourhood-backup", founder.operator, founder.region)
	if err != nil {
		return fmt.Errorf("demo: create federation: %w", err)
	}
	t.say("   Federation ID %s; %s keeps the authority key that signs the member list.", info.ID, founder.name)
	for _, m := range t.members[1:] {
		token, err := founder.node.FederationAdmit(ctx, m.node.ID().PeerID, m.operator, m.region)
		if err != nil {
			return fmt.Errorf("demo: admit %s: %w", m.name, err)
		}
		if _, err := m.node.FederationJoin(ctx, token); err != nil {
			return fmt.Errorf("demo: %s joins: %w", m.name, err)
		}
		t.say("   %s joined with its token (%d characters) and connected over libp2p.", m.name, len(token))
	}
	info, _ = founder.node.FederationShow()
	t.say("   Roster version %d: %d members, %d operators, %d regions. Non-members cannot connect.", info.Version, len(info.Members), len(info.ByOperator), len(info.ByRegion))
	return nil
}

func (t *tour) addAndFetch(ctx context.Context) error {
	owner, reader := t.members[0], t.members[len(t.members)-1]
	sample, marker := sampleFile(t.opts.FileBytes)
	t.heading(fmt.Sprintf("%s adds a %s file containing the secret line %q", owner.name, sizeText(len(sample)), marker))
	start := time.Now()
	res, err := owner.node.Add(ctx, object.NewReaderSource("family-photos.tar", bytes.NewReader(sample)), node.AddOptions{Name: "family-photos.tar"})
	if err != nil {
		return fmt.Errorf("demo: add: %w", err)
	}
	t.say("   Split into %d chunks by content, each sealed with XChaCha20-Poly1305 before it touched the disk,", res.Chunks)
	t.say("   synced to disk in %s. Object ID (what storage peers see): %s", time.Since(start).Round(time.Millisecond), res.CID)
	t.say("   Capability (what the owner keeps, the only key to the data):\n   %s", res.Capability)
	t.capability, t.cid = res.Capability, res.CID
	if err := t.checkNoPlaintext(marker); err != nil {
		return err
	}
	return t.fetch(ctx, reader, res.Capability, sample)
}

func (t *tour) checkNoPlaintext(marker string) error {
	for _, m := range t.members {
		found, err := containsOnDisk(m.repo.Dir, []byte(marker))
		if err != nil {
			return err
		}
		if found {
			return fmt.Errorf("demo: the secret line is readable in %s's repository", m.name)
		}
	}
	t.say("   Searched every node's files on disk: the secret line appears nowhere in plaintext.")
	return nil
}

func (t *tour) fetch(ctx context.Context, m *member, capability string, want []byte) error {
	t.heading(fmt.Sprintf("%s, a fresh node, gets the file with nothing but the capability", m.name))
	start := time.Now()
	obj, err := m.node.Open(ctx, capability)
	if err != nil {
		return fmt.Errorf("demo: %s fetch: %w", m.name, err)
	}
	var got bytes.Buffer
	if err := obj.WriteFile(ctx, "family-photos.tar", &got); err != nil {
		return fmt.Errorf("demo: %s decrypt: %w", m.name, err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		return fmt.Errorf("demo: %s got different bytes", m.name)
	}
	t.say("   Fetched every block over bitswap, checked each against its CID, decrypted: identical, in %s.", time.Since(start).Round(time.Millisecond))
	return nil
}

// outsider shows that a node outside the federation gets nothing, even
// with the capability and the members' addresses.
func (t *tour) outsider(ctx context.Context) error {
	t.heading("mallory, a node nobody admitted, knows the capability and every address")
	m, err := t.startMember("mallory", len(t.members))
	if err != nil {
		return err
	}
	t.members = append(t.members, m)
	for _, member := range t.members[:len(t.members)-1] {
		if err := m.node.Connect(ctx, member.node.ID().Addrs[0]); err == nil {
			return fmt.Errorf("demo: mallory connected to %s", member.name)
		}
	}
	t.say("   Every member refused the connection: mallory is not on the signed roster.")
	if _, err := m.node.Open(ctx, t.capability); err == nil {
		return fmt.Errorf("demo: mallory fetched the object")
	}
	t.say("   Fetching with the capability fails too: no member will serve a single block to mallory.")
	return nil
}

// serveDashboard serves the first node's API and dashboard on a loopback
// port and says where to open it.
func (t *tour) serveDashboard() error {
	m := t.members[0]
	token, err := m.repo.Token()
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: listen for the dashboard: %w", err)
	}
	t.api = api.NewServer(m.node, token, t.opts.Logger)
	go t.api.Serve(l)
	t.say("\n   Watch it live: %s's dashboard is at\n   %s", m.name, dashboard.URL(l.Addr().String(), token))
	return nil
}

func (t *tour) stop() {
	if t.api != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		t.api.Shutdown(ctx)
		cancel()
	}
	for _, m := range t.members {
		m.node.Close()
	}
}

// sampleFile makes random-looking data with a marker line inside.
func sampleFile(size int) ([]byte, string) {
	marker := "CAIRN-DEMO-SECRET-" + strings.ToUpper(fmt.Sprintf("%x", randomBytes(6)))
	data := randomBytes(size)
	copy(data[size/2:], marker)
	return data, marker
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// containsOnDisk reports whether any file under dir contains needle.
func containsOnDisk(dir string, needle []byte) (bool, error) {
	found := false
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || found || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		found = bytes.Contains(data, needle)
		return nil
	})
	return found, err
}

func shortID(id string) string {
	if len(id) <= 16 {
		return id
	}
	return id[:8] + "…" + id[len(id)-6:]
}

func sizeText(n int) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// replicate waits for the object to be backed up on three operators, stops
// one holder and watches the federation repair the loss on its own.
func (t *tour) replicate(ctx context.Context) error {
	owner := t.members[0]
	if len(t.members) < 4 {
		t.say("   (With %d nodes there is no spare node to show repair; run the demo with at least 4.)", len(t.members))
		return nil
	}
	t.heading("The federation places three copies on three different operators, without a coordinator")
	v, err := t.waitStatus(ctx, "three verified copies", func(v netstat.ObjectView) bool {
		return v.State == netstat.StateBackedUp
	})
	if err != nil {
		return err
	}
	t.describe(v)
	victim := t.remoteHolder(v)
	if victim == nil {
		return fmt.Errorf("demo: no holder besides %s to stop", owner.name)
	}
	t.heading(fmt.Sprintf("%s's node fails: it stops without warning", victim.name))
	victim.node.Close()
	t.forget(victim)
	v, err = t.waitStatus(ctx, "the loss to show", func(v netstat.ObjectView) bool { return v.Copies < v.Target })
	if err != nil {
		return err
	}
	t.say("   %s notices at once: %s.", owner.name, v.Summary())
	t.say("   After a short grace period (so a quick restart causes no storm) the next node in line fetches a copy.")
	start := time.Now()
	v, err = t.waitStatus(ctx, "repair", func(v netstat.ObjectView) bool { return v.State == netstat.StateBackedUp })
	if err != nil {
		return err
	}
	t.say("   Repaired in %s, while nobody did anything:", time.Since(start).Round(100*time.Millisecond))
	t.describe(v)
	return nil
}

// demoTrashWindow replaces the default 24 h undo window so the tour can
// show the blocks going away.
const demoTrashWindow = 3 * time.Second

// deleteObject deletes the tour's object and follows the holders'
// acknowledgements until the blocks are gone everywhere.
func (t *tour) deleteObject(ctx context.Context) error {
	owner := t.members[0]
	t.heading(fmt.Sprintf("%s deletes the object: a signed tombstone goes to every holder", owner.name))
	res, err := owner.node.Delete(ctx, t.cid)
	if err != nil {
		return err
	}
	start := time.Now()
	t.say("   Tombstone version %d, signed with the owner's key; nobody else's signature would be accepted.", res.Version)
	seen := -1
	v, err := t.waitStatus(ctx, "every running holder to confirm", func(v netstat.ObjectView) bool {
		if v.DeletionView == nil {
			return false
		}
		if v.DeletedOn != seen {
			seen = v.DeletedOn
			t.say("   after %-6s %s", time.Since(start).Round(time.Millisecond), v.Summary())
		}
		for _, u := range v.Unconfirmed {
			if t.running(u.PeerID) {
				return false
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	for _, u := range v.Unconfirmed {
		t.say("   %s is down: it will apply the deletion when it returns, before it serves anything.", t.nameOf(u.PeerID))
	}
	t.say("   Every running holder stopped serving it at once; `cairn undelete` could bring it back for %s (24 h by default).", demoTrashWindow)
	v, err = t.waitStatus(ctx, "the blocks to go", func(v netstat.ObjectView) bool { return v.PurgedOn == v.DeletedOn })
	if err != nil {
		return err
	}
	t.say("   after %-6s the trash window passed: blocks removed on %d holders, each confirmed with a signed acknowledgement.",
		time.Since(start).Round(time.Millisecond), v.PurgedOn)
	if _, err := owner.node.Open(ctx, t.capability); err != nil {
		t.say("   Fetching it with the capability now says: %v", err)
	}
	return nil
}

// waitStatus polls the owner's status of the tour's object until ok holds.
func (t *tour) waitStatus(ctx context.Context, what string, ok func(netstat.ObjectView) bool) (netstat.ObjectView, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		v, err := t.members[0].node.Status(ctx, t.cid)
		if err == nil && ok(v) {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return v, fmt.Errorf("demo: waiting for %s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// describe says where the verified copies are, in plain words.
func (t *tour) describe(v netstat.ObjectView) {
	t.say("   %s", v.Summary())
	for _, h := range v.Holders {
		if h.State == "verified" {
			t.say("     - on %-10s (%s, %s)", t.nameOf(h.PeerID), h.Operator, h.Region)
		}
	}
	t.say("   Each holder proved it still has the data by answering a challenge over random chunks.")
}

func (t *tour) remoteHolder(v netstat.ObjectView) *member {
	for _, h := range v.Holders {
		for _, m := range t.members[1:] {
			if h.State == "verified" && !h.Owner && m.node.ID().PeerID == h.PeerID {
				return m
			}
		}
	}
	return nil
}

func (t *tour) nameOf(peerID string) string {
	for _, m := range t.everyone {
		if m.node.ID().PeerID == peerID {
			return m.name
		}
	}
	return shortID(peerID)
}

// running reports whether the member with this peer ID is still up.
func (t *tour) running(peerID string) bool {
	for _, m := range t.members {
		if m.node.ID().PeerID == peerID {
			return true
		}
	}
	return false
}

// forget removes a stopped member from the running ones.
func (t *tour) forget(gone *member) {
	kept := t.members[:0]
	for _, m := range t.members {
		if m != gone {
			kept = append(kept, m)
		}
	}
	t.members = kept
}
