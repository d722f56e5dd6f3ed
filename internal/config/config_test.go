package config

import (
	"errors"
	"strings"
	"testing"
)

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	if c.Add.Replicas != 3 {
		t.Errorf("default replicas = %d, want 3", c.Add.Replicas)
	}
}

func TestParseNamesTheField(t *testing.T) {
	tests := []struct {
		name, file, field string
	}{
		{"unknown field", "[swarm]\nlisten_addrs = []\n", "swarm.listen_addrs"},
		{"bad listen", "[swarm]\nlisten = [\"tcp:4001\"]\n", "swarm.listen[0]"},
		{"empty listen", "[swarm]\nlisten = []\n", "swarm.listen"},
		{"bootstrap without peer", "[swarm]\nbootstrap = [\"/ip4/127.0.0.1/tcp/1\"]\n", "swarm.bootstrap[0]"},
		{"public api", "[api]\naddress = \"0.0.0.0:5001\"\n", "api.address"},
		{"api not hostport", "[api]\naddress = \"localhost\"\n", "api.address"},
		{"replicas zero", "[add]\nreplicas = 0\n", "add.replicas"},
		{"bad duration", "[fetch]\ntimeout = \"soon\"\n", "timeout"},
		{"short timeout", "[fetch]\ntimeout = \"1ms\"\n", "fetch.timeout"},
		{"watermarks", "[swarm]\nlow_water = 10\nhigh_water = 5\n", "swarm.low_water"},
		{"no repairs at once", "[replication]\nmax_concurrent_repairs = 0\n", "replication.max_concurrent_repairs"},
		{"no records per member", "[replication]\nmax_entries_per_member = 0\n", "replication.max_entries_per_member"},
		{"no attestations per second", "[replication]\nmax_attestations_per_second = -1\n", "replication.max_attestations_per_second"},
		{"not toml", "[swarm\n", "toml"},
		{"psk with quic", "[swarm]\npsk_file = \"swarm.key\"\n", "swarm.listen[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.file))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse: got %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %q", err, tt.field)
			}
		})
	}
}

func TestParseOverridesDefaults(t *testing.T) {
	c, err := Parse([]byte("[add]\nreplicas = 5\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Add.Replicas != 5 || c.API.Address != Default().API.Address {
		t.Errorf("got replicas %d api %q, want 5 and the default api", c.Add.Replicas, c.API.Address)
	}
}

func TestRenderKeepsCommentsAndSetsAddresses(t *testing.T) {
	out, err := Render([]string{"/ip4/127.0.0.1/tcp/0"}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Swarm.Listen) != 1 || c.Swarm.Listen[0] != "/ip4/127.0.0.1/tcp/0" || c.API.Address != "127.0.0.1:0" {
		t.Errorf("got listen %v api %q", c.Swarm.Listen, c.API.Address)
	}
	if !strings.Contains(string(out), "# Cairn node configuration.") {
		t.Error("rendered config lost its comments")
	}
	if _, err := Render([]string{"nonsense"}, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("Render with a bad listen address: got %v, want ErrInvalid", err)
	}
}
