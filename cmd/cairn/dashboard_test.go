package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/repo"
)

// TestDashboard: three daemons of three operators in two regions. With
// objects on three operators, on two, and on the owner's node only, the
// dashboard, opened in headless Chromium with the link `cairn dashboard`
// prints, shows the states, tally and "safe to go offline" that `cairn
// status --json` reports, the object's holders grouped by region, and the
// peers; the advanced toggle reveals peer IDs. A holder killed with
// SIGKILL turns the object at_risk on the open page, without a reload. The
// API refuses every request without the token; the page itself holds no
// data and loads without it. When the node stops answering, the page
// greys out and says so. With CAIRN_SCREENSHOT=1 the test saves the
// overview to docs/dashboard.png.
func TestDashboard(t *testing.T) {
	browser := chromiumPath(t)
	// A trash window of seconds, long enough for the undelete below.
	settings := maps.Clone(fastReplication)
	settings["trash_window"] = `"8s"`
	nodes := []*replNode{
		startReplNode(t, "library", "Riverside Library", "eu-west", settings),
		startReplNode(t, "school", "Hilltop School", "eu-west", settings),
		startReplNode(t, "clinic", "Harbour Clinic", "us-east", settings),
	}
	federate(t, nodes)
	owner := nodes[0]
	byPeer := map[string]*replNode{}
	for _, n := range nodes {
		byPeer[n.id.PeerID] = n
	}
	records := addFile(t, owner, "patient-records.txt", 3)
	budget := addFile(t, owner, "budget-2026.ods", 2)
	notes := addFile(t, owner, "meeting-notes.txt", 1)
	waitFor(t, 30*time.Second, "the records backed up on 3 operators", backedUp(t, owner, records, ""))
	waitFor(t, 30*time.Second, "the budget backed up on 2 operators", func() bool {
		return objectStatus(t, owner, budget).State == netstat.StateBackedUp
	})

	var link map[string]string
	cairnJSON(t, owner.repo, &link, "dashboard")
	base, token, ok := strings.Cut(link["url"], "/#token=")
	if !ok || token != repoToken(t, owner.repo) {
		t.Fatalf("cairn dashboard printed %q: want http://ADDR/#token=<the repository's token>", link["url"])
	}
	t.Run("the API refuses requests without the token", func(t *testing.T) { checkTokenGuard(t, base, token) })

	tab := openBrowser(t, browser)
	tab.run(t, chromedp.Navigate(link["url"]))
	tab.waitJS(t, 15*time.Second, "the overview to list both objects", `document.querySelectorAll('#objects tr[data-cid]').length === 3`)
	if hash := tab.str(t, `location.hash`); strings.Contains(hash, token) {
		t.Errorf("the token stays in the address bar: %q", hash)
	}
	tab.eval(t, `window.cairnTestMarker = 'no reload'`, nil)

	waitFor(t, 15*time.Second, "the page to show what `cairn status --json` says", func() bool {
		return tab.matchesCLI(t, owner)
	})
	if tab.str(t, `document.getElementById('safe-offline').dataset.safe`) != "false" {
		t.Errorf("the page says safe to go offline, but %s lives on the owner's node only", notes)
	}

	t.Run("the overview pages through the objects", func(t *testing.T) { checkPaging(t, tab, owner) })
	t.Run("object page groups holders by region", func(t *testing.T) { checkObjectPage(t, tab, owner, records) })
	t.Run("peers page", func(t *testing.T) { checkPeersPage(t, tab, nodes) })

	tab.eval(t, `location.hash = '#/'`, nil)
	tab.waitJS(t, 10*time.Second, "the overview again", `document.querySelectorAll('#objects tr[data-cid]').length === 3`)
	victim := pickRemoteHolder(t, objectStatus(t, owner, records), byPeer)
	killed := time.Now()
	victim.d.kill()
	tab.waitJS(t, 20*time.Second, "the killed holder's copy to stop counting on the page",
		fmt.Sprintf(`document.querySelector('#objects tr[data-cid=%q]').dataset.state === 'at_risk'`, records))
	t.Logf("SIGKILL of a holder to at_risk on the open page: %s", time.Since(killed).Round(time.Millisecond))
	if got := tab.str(t, `String(window.cairnTestMarker)`); got != "no reload" {
		t.Errorf("the page reloaded (marker %q): updates must arrive without a reload", got)
	}
	waitFor(t, 15*time.Second, "the page and `cairn status --json` to agree after the kill", func() bool {
		return tab.matchesCLI(t, owner)
	})
	// Two operators are left: a new object asking for three copies is
	// replicating until the at-risk grace (a minute) has passed.
	draft := addFile(t, owner, "draft-minutes.txt", 3)
	tab.waitJS(t, 20*time.Second, "an object short of its target to show as replicating within the grace",
		fmt.Sprintf(`document.querySelector('#objects tr[data-cid=%q]')?.dataset.state === 'replicating'`, draft))
	waitFor(t, 15*time.Second, "the page and `cairn status --json` to agree while it replicates", func() bool {
		return tab.matchesCLI(t, owner)
	})
	tab.waitJS(t, 30*time.Second, "the budget backed up (again, if the killed node held it)",
		fmt.Sprintf(`document.querySelector('#objects tr[data-cid=%q]').dataset.state === 'backed_up'`, budget))
	cairn(t, owner.repo, "rm", budget)
	tab.waitJS(t, 20*time.Second, "the deleted object to show as deleting",
		fmt.Sprintf(`document.querySelector('#objects tr[data-cid=%q]').dataset.state === 'deleting'`, budget))
	waitFor(t, 15*time.Second, "the page and `cairn status --json` to agree after rm", func() bool {
		return tab.matchesCLI(t, owner)
	})
	cairn(t, owner.repo, "undelete", budget)
	tab.waitJS(t, 30*time.Second, "the undeleted object to be live again on the page",
		fmt.Sprintf(`!['deleting', 'deleted'].includes(document.querySelector('#objects tr[data-cid=%q]').dataset.state)`, budget))
	waitFor(t, 15*time.Second, "the page and `cairn status --json` to agree after undelete", func() bool {
		return tab.matchesCLI(t, owner)
	})
	if os.Getenv("CAIRN_SCREENSHOT") == "1" {
		tab.screenshot(t, filepath.Join("..", "..", "docs", "dashboard.png"))
	}
	cairn(t, owner.repo, "rm", notes)
	tab.waitJS(t, 40*time.Second, "the removed notes to show as deleted once the trash window has passed",
		fmt.Sprintf(`document.querySelector('#objects tr[data-cid=%q]').dataset.state === 'deleted'`, notes))
	waitFor(t, 15*time.Second, "the page and `cairn status --json` to agree once deleted", func() bool {
		return tab.matchesCLI(t, owner)
	})

	t.Run("a tab without the token shows how to get one", func(t *testing.T) {
		other := tab.newTab(t)
		other.run(t, chromedp.Navigate(base+"/"))
		other.waitJS(t, 10*time.Second, "the page to ask for the token", `document.getElementById('no-token') !== null`)
		if n := other.str(t, `String(document.querySelectorAll('[data-cid]').length)`); n != "0" {
			t.Errorf("a tab without the token shows %s objects", n)
		}
	})

	owner.d.kill()
	tab.waitJS(t, 20*time.Second, "the page to grey out and say it lost contact once the node is gone",
		`document.body.classList.contains('outdated') && !document.getElementById('banner').hidden`)
	tab.checkNoErrors(t)
}

// addFile adds a small file to n with the given number of replicas.
func addFile(t *testing.T, n *replNode, name string, replicas int) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(src, []byte(strings.Repeat(name+" must not be lost\n", 4000)), 0o600); err != nil {
		t.Fatal(err)
	}
	var added node.AddResult
	cairnJSON(t, n.repo, &added, "add", src, "--replicas", fmt.Sprint(replicas))
	return added.CID
}

func repoToken(t *testing.T, dir string) string {
	t.Helper()
	r, err := repo.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	token, err := r.Token()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// checkTokenGuard: data needs the token, in the Authorization header and
// nowhere else; the static page needs none and does not contain it.
func checkTokenGuard(t *testing.T, base, token string) {
	for _, tc := range []struct {
		path, auth string
		want       int
	}{
		{"/api/v1/status", "", http.StatusUnauthorized},
		{"/api/v1/status?limit=10", "Bearer not-the-token", http.StatusUnauthorized},
		{"/api/v1/status?token=" + token, "", http.StatusUnauthorized},
		{"/api/v1/members", "Basic " + token, http.StatusUnauthorized},
		{"/api/v1/status?limit=10", "Bearer " + token, http.StatusOK},
		{"/api/v1/status?limit=0", "Bearer " + token, http.StatusBadRequest},
		{"/api/v1/status?after=bm90LWEtY3Vyc29y", "Bearer " + token, http.StatusBadRequest},
		{"/", "", http.StatusOK},
		{"/app.js", "", http.StatusOK},
	} {
		req, _ := http.NewRequest(http.MethodGet, base+tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s (Authorization %q): %d %s, want %d", tc.path, tc.auth, resp.StatusCode, body, tc.want)
		}
		if tc.auth == "" && strings.Contains(string(body), token) {
			t.Errorf("GET %s without the token answers with the token", tc.path)
		}
	}
}

// checkPaging pages through the overview two rows at a time, forth and
// back: the pages hold every object once.
func checkPaging(t *testing.T, tab *browserTab, owner *replNode) {
	rows := `[...document.querySelectorAll('#objects tr[data-cid]')].map(r => r.dataset.cid).join(' ')`
	buttons := func(prev, next bool) string {
		return fmt.Sprintf(`document.getElementById('prev').disabled === %t && document.getElementById('next').disabled === %t`, !prev, !next)
	}
	tab.eval(t, `location.hash = '#/?per_page=2'`, nil)
	tab.waitJS(t, 10*time.Second, "a first page of two rows", `document.querySelectorAll('#objects tr[data-cid]').length === 2 && `+buttons(false, true))
	first := tab.str(t, rows)
	tab.run(t, chromedp.Click(`#next`, chromedp.ByQuery))
	tab.waitJS(t, 10*time.Second, "a second page of one row", `document.querySelectorAll('#objects tr[data-cid]').length === 1 && `+buttons(true, false))
	second := tab.str(t, rows)
	var ov node.StatusOverview
	cairnJSON(t, owner.repo, &ov, "status")
	seen := map[string]bool{}
	for _, cid := range strings.Fields(first + " " + second) {
		seen[cid] = true
	}
	if len(seen) != len(ov.Objects) || len(strings.Fields(first+" "+second)) != len(ov.Objects) {
		t.Errorf("pages %q and %q, want the %d objects once each", first, second, len(ov.Objects))
	}
	tab.run(t, chromedp.Click(`#prev`, chromedp.ByQuery))
	tab.waitJS(t, 10*time.Second, "the first page again", fmt.Sprintf(`%s === %q`, rows, first))
	tab.eval(t, `location.hash = '#/'`, nil)
}

func checkObjectPage(t *testing.T, tab *browserTab, owner *replNode, cid string) {
	tab.eval(t, fmt.Sprintf(`location.hash = '#/object/%s'`, cid), nil)
	tab.waitJS(t, 10*time.Second, "the object page", fmt.Sprintf(`document.querySelector('#object[data-cid=%q]') !== null && document.getElementById('regions') !== null`, cid))
	v := objectStatus(t, owner, cid)
	want := map[string]string{} // peer -> region
	for _, h := range v.Holders {
		want[h.PeerID] = h.Region
	}
	var got map[string]string
	waitFor(t, 10*time.Second, "the holders grouped by region", func() bool {
		tab.eval(t, `Object.fromEntries([...document.querySelectorAll('[data-region] [data-holder]')].map(e => [e.dataset.holder, e.closest('[data-region]').dataset.region]))`, &got)
		return fmt.Sprint(got) == fmt.Sprint(want)
	})
	if state := tab.str(t, `document.getElementById('object').dataset.state`); state != v.State.String() {
		t.Errorf("object page state %s, cairn status says %s", state, v.State)
	}
	someone := v.Holders[0].PeerID
	visible := fmt.Sprintf(`document.body.innerText.includes(%q)`, someone)
	if tab.str(t, `String(`+visible+`)`) != "false" {
		t.Errorf("peer ID %s shown without the advanced toggle", someone)
	}
	tab.run(t, chromedp.Click(`#advanced`, chromedp.ByQuery))
	tab.waitJS(t, 5*time.Second, "advanced details to show peer IDs", visible)
	tab.run(t, chromedp.Click(`#advanced`, chromedp.ByQuery))
}

func checkPeersPage(t *testing.T, tab *browserTab, nodes []*replNode) {
	tab.eval(t, `location.hash = '#/peers'`, nil)
	tab.waitJS(t, 10*time.Second, "every member on the peers page, online", fmt.Sprintf(
		`document.querySelectorAll('[data-peer][data-online=true]').length === %d`, len(nodes)))
	for _, n := range nodes {
		region := tab.str(t, fmt.Sprintf(`document.querySelector('[data-peer=%q]').closest('[data-region]').dataset.region`, n.id.PeerID))
		if region != n.region {
			t.Errorf("%s shown in region %q, want %q", n.operator, region, n.region)
		}
	}
	tab.run(t, chromedp.Click(`#advanced`, chromedp.ByQuery))
	tab.waitJS(t, 5*time.Second, "peer IDs, addresses, this node's challenge counts and its latest drill in advanced mode", fmt.Sprintf(
		`document.body.innerText.includes(%q) && document.body.innerText.includes('/ip4/127.0.0.1/') && document.querySelector('#health').offsetParent !== null && document.querySelector('#health').innerText.toLowerCase().includes('last restore drill')`, nodes[1].id.PeerID))
	tab.run(t, chromedp.Click(`#advanced`, chromedp.ByQuery))
}

// matchesCLI reports whether the overview shows the states, the tally and
// the offline verdict that `cairn status --json` reports.
func (b *browserTab) matchesCLI(t *testing.T, owner *replNode) bool {
	var ov node.StatusOverview
	cairnJSON(t, owner.repo, &ov, "status")
	want := map[string]string{}
	for _, o := range ov.Objects {
		want[o.CID] = o.State.String()
	}
	for _, s := range netstat.States() {
		want["tally:"+s.String()] = fmt.Sprint(ov.Tally.Count(s))
	}
	want["safe_offline"] = fmt.Sprint(ov.SafeOffline)
	var got map[string]string
	b.eval(t, `Object.fromEntries([
		...[...document.querySelectorAll('#objects tr[data-cid]')].map(r => [r.dataset.cid, r.dataset.state]),
		...[...document.querySelectorAll('[data-tally]')].map(c => ['tally:' + c.dataset.tally, c.querySelector('.count').textContent]),
		['safe_offline', document.getElementById('safe-offline').dataset.safe]])`, &got)
	return fmt.Sprint(got) == fmt.Sprint(want)
}

// chromiumPath finds Chromium, installing Debian's package when it is
// missing and the test runs as root. Without it the test skips, except
// under CI=true, where it fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	find := func() string {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
			if p, err := exec.LookPath(name); err == nil {
				return p
			}
		}
		return ""
	}
	if p := find(); p != "" {
		return p
	}
	why := installChromium(t)
	if p := find(); p != "" {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("the dashboard test needs Chromium and could not install it: %s", why)
	}
	t.Skipf("skipping the dashboard browser test: no Chromium on this machine and %s; install Debian's chromium package (or run the test as root, which installs it)", why)
	return ""
}

// installChromium installs Debian's chromium with apt-get; it returns why
// it could not, or "".
func installChromium(t *testing.T) string {
	if os.Geteuid() != 0 {
		return "the test is not root, so it cannot install it"
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "there is no apt-get to install it with"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "chromium", "fonts-dejavu-core"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Sprintf("apt-get %s failed: %v: %s", strings.Join(args, " "), err, lastLines(string(out), 5))
		}
	}
	t.Logf("installed Debian's chromium with apt-get in %s", time.Since(start).Round(time.Second))
	return ""
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// browserTab is one tab of a headless Chromium, with the errors its pages
// reported.
type browserTab struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string // guarded by mu
}

func openBrowser(t *testing.T, path string) *browserTab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.WindowSize(1280, 860), chromedp.DisableGPU)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	// Quiet: chromedp logs CDP events it does not know, which is noise here.
	return newTabIn(t, actx, chromedp.WithLogf(func(string, ...any) {}))
}

// newTab opens another tab of the same browser, with its own session
// storage.
func (b *browserTab) newTab(t *testing.T) *browserTab {
	t.Helper()
	return newTabIn(t, b.ctx)
}

func newTabIn(t *testing.T, parent context.Context, opts ...chromedp.ContextOption) *browserTab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent, opts...)
	t.Cleanup(cancel)
	b := &browserTab{ctx: ctx}
	chromedp.ListenTarget(ctx, b.record)
	// The first Run starts the tab (and the browser) for the life of ctx,
	// so it must not run under a shorter deadline.
	if err := chromedp.Run(ctx, cdplog.Enable()); err != nil {
		t.Fatalf("start the browser: %v", err)
	}
	return b
}

// record keeps JavaScript exceptions, console errors and browser errors
// such as Content-Security-Policy violations. Failed requests are left
// out: a node being killed is part of the test.
func (b *browserTab) record(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = "exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			msg += " " + ev.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.APITypeError {
			msg = "console.error"
			for _, a := range ev.Args {
				msg += " " + string(a.Value) + a.Description
			}
		}
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.LevelError && ev.Entry.Source != cdplog.SourceNetwork {
			msg = string(ev.Entry.Source) + ": " + ev.Entry.Text
		}
	}
	if msg != "" {
		b.mu.Lock()
		b.errors = append(b.errors, msg)
		b.mu.Unlock()
	}
}

func (b *browserTab) checkNoErrors(t *testing.T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		t.Errorf("the page reported an error: %s", e)
	}
}

func (b *browserTab) run(t *testing.T, actions ...chromedp.Action) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

func (b *browserTab) eval(t *testing.T, js string, out any) {
	t.Helper()
	b.run(t, chromedp.Evaluate(js, out))
}

func (b *browserTab) str(t *testing.T, js string) string {
	t.Helper()
	var s string
	b.eval(t, js, &s)
	return s
}

// waitJS waits until the JavaScript expression cond is true on the page.
func (b *browserTab) waitJS(t *testing.T, timeout time.Duration, what, cond string) {
	t.Helper()
	js := `(() => { try { return Boolean(` + cond + `); } catch (e) { return false; } })()`
	waitFor(t, timeout, what, func() bool {
		var ok bool
		b.eval(t, js, &ok)
		return ok
	})
}

func (b *browserTab) screenshot(t *testing.T, path string) {
	t.Helper()
	var png []byte
	b.run(t, chromedp.CaptureScreenshot(&png))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("save screenshot: %v", err)
	}
	t.Logf("saved the overview to %s", path)
}
