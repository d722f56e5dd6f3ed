package api

import "net/http"

// Routes returns the patterns registered on the API's mux, in order.
func (s *Server) Routes() []string { return append([]string(nil), s.mux.patterns...) }

// Route returns the pattern the API's mux picks for r ("" when none).
func (s *Server) Route(r *http.Request) string {
	_, pattern := s.mux.Handler(r)
	return pattern
}
