// Package dashboard is the node's web dashboard: static HTML, CSS and
// JavaScript embedded in the binary and served by the daemon on its API
// address, next to the JSON API it reads.
//
// The files hold no data, so they are served without the API token; the
// page reads everything from the token-guarded JSON API. The token reaches
// the browser in the URL fragment (http://127.0.0.1:PORT/#token=...),
// which browsers never send to a server; the page moves it into session
// storage and removes it from the address bar. Nothing is loaded from
// other hosts, and the Content-Security-Policy forbids it.
package dashboard

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/cairn-fed/cairn/netstat"
)

//go:embed static
var static embed.FS

// files are the embedded files by the path they are served at.
var files = mustFiles()

// statesPath serves the state vocabulary (netstat's words, labels,
// symbols and colours) so that the page and the CLI can never disagree.
const statesPath = "/states.json"

// securityHeaders go on every dashboard response: no other origin, no
// framing, no referrer, no MIME sniffing, always revalidated.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "no-referrer",
	"X-Frame-Options":        "DENY",
	"Cache-Control":          "no-cache",
}

// Handler serves the dashboard's files for GET and HEAD requests of their
// paths ("/" is the page itself) and passes every other request to api
// unchanged, so the API keeps its own routes and its token check.
func Handler(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			api.ServeHTTP(w, r)
			return
		}
		for k, v := range securityHeaders {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", f.contentType)
		if r.Method == http.MethodGet {
			w.Write(f.body)
		}
	})
}

// URL is the address that opens the dashboard of the API at apiAddr
// (host:port) with token, carried in the fragment.
func URL(apiAddr, token string) string {
	return "http://" + apiAddr + "/#token=" + url.QueryEscape(token)
}

type file struct {
	contentType string
	body        []byte
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".json": "application/json",
}

func mustFiles() map[string]file {
	out := map[string]file{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		out[strings.TrimPrefix(p, "static")] = file{contentType: contentTypes[path.Ext(p)], body: body}
		return nil
	})
	if err != nil {
		panic("dashboard: read embedded files: " + err.Error())
	}
	out["/"] = out["/index.html"]
	delete(out, "/index.html")
	out[statesPath] = file{contentType: contentTypes[".json"], body: vocabulary()}
	return out
}

// stateWords is one state as the page shows it.
type stateWords struct {
	Word     string `json:"word"`
	Label    string `json:"label"`
	Symbol   string `json:"symbol"`
	Colour   string `json:"colour"`
	Severity int    `json:"severity"`
}

// vocabulary renders netstat's states, in display order.
func vocabulary() []byte {
	var out []stateWords
	for _, s := range netstat.States() {
		out = append(out, stateWords{Word: s.String(), Label: s.Label(), Symbol: s.Symbol(false), Colour: s.Colour(), Severity: s.Severity()})
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic("dashboard: encode states: " + err.Error())
	}
	return b
}
