// Package configs holds Cairn's default configuration, embedded in the binary
// so that `cairn init` needs no file beside it, and kept as a readable,
// commented file for operators.
package configs

import _ "embed"

// Default is the commented default config.toml written by `cairn init`.
//
//go:embed default.toml
var Default []byte
