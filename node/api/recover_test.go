package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestOwnerSecretMustBe32Bytes: a recover or key import request whose
// secret is not an owner key is refused before the node sees it.
func TestOwnerSecretMustBe32Bytes(t *testing.T) {
	_, _, addr, _ := eventServer(t, 16)
	for _, path := range []string{"/api/v1/recover", "/api/v1/key/import"} {
		for _, body := range []string{`{"secret":"AAEC"}`, `{}`, `{"secret":`} {
			req, err := http.NewRequest(http.MethodPost, "http://"+addr+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s %s: status %d (%s), want 400", path, body, resp.StatusCode, got)
			}
		}
	}
}
