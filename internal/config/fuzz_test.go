package config

import (
	"errors"
	"testing"

	"github.com/cairn-fed/cairn/configs"
)

// FuzzParse feeds arbitrary bytes to the config reader: it must either
// return a config that validates or an ErrInvalid error, and never panic.
func FuzzParse(f *testing.F) {
	f.Add(configs.Default)
	f.Add([]byte("[swarm]\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\n[api]\naddress = \"127.0.0.1:0\"\n"))
	f.Add([]byte("[fetch]\ntimeout = \"1h\"\n[add]\nreplicas = 64\n"))
	f.Add([]byte("[swarm\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that does not validate: %v", err)
		}
	})
}
