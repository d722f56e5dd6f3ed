package api

import (
	"net/http/pprof"
)

// profilingRoutes serves Go's runtime profiles under /debug/pprof/, as Kubo
// does, behind the same token as the rest of the API: an operator can see
// where a busy daemon spends its CPU with
//
//	go tool pprof -http : 'http://ADDR/debug/pprof/profile?seconds=10'
//
// passing the token in an Authorization header (or fetching the profile
// with curl first).
func profilingRoutes(mux *routes) {
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}
