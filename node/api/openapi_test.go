package api_test

import (
	"log/slog"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cairn-fed/cairn/node/api"
)

// TestOpenAPIMatchesTheRouter holds docs/api.yaml against the real router:
// every route the server registers is described there, and every
// described method and path is registered and routes to itself.
func TestOpenAPIMatchesTheRouter(t *testing.T) {
	data, err := os.ReadFile("../../docs/api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                          `yaml:"openapi"`
		Paths   map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("docs/api.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("docs/api.yaml is OpenAPI %q, want 3.x", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if slices.Contains([]string{"get", "post", "put", "delete", "patch", "head"}, method) {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	srv := api.NewServer(logBackend{}, testToken, slog.New(slog.DiscardHandler))
	var registered []string
	for _, r := range srv.Routes() {
		// The IPFS Pinning Service API has a listener and a description
		// of its own.
		if _, path, _ := strings.Cut(r, " "); !strings.HasPrefix(path, "/pins") {
			registered = append(registered, r)
		}
	}
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("%s is registered but not in docs/api.yaml", r)
		}
	}
	param := regexp.MustCompile(`\{[a-z_]+\}`)
	for _, d := range documented {
		if !slices.Contains(registered, d) {
			t.Errorf("%s is in docs/api.yaml but not registered", d)
			continue
		}
		method, path, _ := strings.Cut(d, " ")
		req := httptest.NewRequest(method, param.ReplaceAllString(path, "bafkreitest"), nil)
		if got := srv.Route(req); got != d {
			t.Errorf("%s %s routes to %q, want %q", method, req.URL.Path, got, d)
		}
	}
	if len(registered) < 30 {
		t.Errorf("only %d routes registered: is the recorder missing some?", len(registered))
	}
}
