package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/configs"
)

func TestSetChangesOnlyItsLine(t *testing.T) {
	tests := []struct {
		key, value string
		check      func(Config) bool
	}{
		{"replication.repair_grace", "5s", func(c Config) bool { return c.Replication.RepairGrace.Duration == 5*time.Second }},
		{"replication.repair_grace", `"7s"`, func(c Config) bool { return c.Replication.RepairGrace.Duration == 7*time.Second }},
		{"add.replicas", "5", func(c Config) bool { return c.Add.Replicas == 5 }},
		{"swarm.bootstrap", `["/ip4/10.0.0.1/tcp/4501/p2p/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq"]`, func(c Config) bool { return len(c.Swarm.Bootstrap) == 1 }},
		{"metrics.address", "0.0.0.0:9501", func(c Config) bool { return c.Metrics.Address == "0.0.0.0:9501" }},
		{"api.address", "127.0.0.1:5601", func(c Config) bool { return c.API.Address == "127.0.0.1:5601" && c.Metrics.Address == "" }},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			out, err := Set(configs.Default, tt.key, tt.value)
			if err != nil {
				t.Fatalf("Set: %v", err)
			}
			c, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse after Set: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("Set %s = %s did not take", tt.key, tt.value)
			}
			if changed := diffLines(string(configs.Default), string(out)); changed != 1 {
				t.Errorf("%d lines changed, want 1", changed)
			}
		})
	}
}

func diffLines(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(al) != len(bl) {
		return -1
	}
	n := 0
	for i := range al {
		if al[i] != bl[i] {
			n++
		}
	}
	return n
}

func TestSetAddsMissingKeysAndSections(t *testing.T) {
	file := "# mine\n[add]\nreplicas = 2 # two operators only\n\n# next\n[fetch]\n"
	out, err := Set([]byte(file), "add.replicas", "4")
	if err != nil {
		t.Fatal(err)
	}
	if want := "replicas = 4 # two operators only"; !strings.Contains(string(out), want) {
		t.Errorf("trailing comment lost:\n%s", out)
	}
	out, err = Set(out, "fetch.timeout", "2m")
	if err != nil {
		t.Fatal(err)
	}
	out, err = Set(out, "metrics.auth", "none")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if c.Add.Replicas != 4 || c.Fetch.Timeout.Duration != 2*time.Minute || c.Metrics.Auth != "none" {
		t.Errorf("got %+v %+v %+v from\n%s", c.Add, c.Fetch, c.Metrics, out)
	}
	if !strings.HasPrefix(string(out), "# mine\n") || !strings.Contains(string(out), "# next\n") {
		t.Errorf("comments lost:\n%s", out)
	}
}

func TestSetRefusesWhatTheDaemonWould(t *testing.T) {
	tests := []struct{ key, value, field string }{
		{"replication.repair_grace", "soon", "repair_grace"},
		{"add.replicas", "0", "add.replicas"},
		{"add.replicas", "three", "add.replicas"},
		{"api.address", "0.0.0.0:5501", "api.address"},
		{"metrics.auth", "maybe", "metrics.auth"},
		{"metrics.address", "example.org:9501", "metrics.address"},
		{"replication.nonsense", "1", "replication.nonsense"},
		{"replicas", "1", "replicas"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			out, err := Set(configs.Default, tt.key, tt.value)
			if !errors.Is(err, ErrInvalid) || out != nil {
				t.Fatalf("Set: got %v and %d bytes, want ErrInvalid and nothing", err, len(out))
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %q", err, tt.field)
			}
		})
	}
}

func TestSetRefusesAValueOverSeveralLines(t *testing.T) {
	file := "[swarm]\nbootstrap = [\n]\n"
	if _, err := Set([]byte(file), "swarm.bootstrap", "[]"); err == nil {
		t.Fatal("Set edited a value written over several lines")
	}
}

func TestGetGivesTheFileOrTheDefault(t *testing.T) {
	file := []byte("[replication]\nrepair_grace = \"9s\"\n")
	if v, err := Get(file, "replication.repair_grace"); err != nil || v != "9s" {
		t.Errorf("repair_grace: got %v, %v", v, err)
	}
	if v, err := Get(file, "add.replicas"); err != nil || v != int64(3) {
		t.Errorf("replicas: got %v (%T), %v", v, v, err)
	}
	if _, err := Get(file, "add.nothing"); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown key: got %v", err)
	}
}

func TestMetricsValidation(t *testing.T) {
	for _, file := range []string{
		"[metrics]\naddress = \"127.0.0.1:5501\"\n",
		"[metrics]\naddress = \"9501\"\n",
		"[metrics]\nauth = \"\"\n",
	} {
		if _, err := Parse([]byte(file)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "metrics.") {
			t.Errorf("%q: got %v, want an error naming a metrics field", file, err)
		}
	}
	c, err := Parse([]byte("[metrics]\naddress = \"0.0.0.0:0\"\nauth = \"none\"\n"))
	if err != nil || c.Metrics.Address != "0.0.0.0:0" {
		t.Errorf("a metrics listener beyond loopback: got %+v, %v", c.Metrics, err)
	}
}
