package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/node"
)

// TestEmptyNodeSaysHowObjectsArrive: ls and status on a fresh node (a
// new machine, before anything was added or fetched) name both ways an
// object gets there.
func TestEmptyNodeSaysHowObjectsArrive(t *testing.T) {
	for name, show := range map[string]func(*cobra.Command){
		"ls":     func(cmd *cobra.Command) { printObjects(cmd, nil) },
		"status": func(cmd *cobra.Command) { printOverview(cmd, node.StatusOverview{Summary: "no objects"}) },
	} {
		var out bytes.Buffer
		cmd := &cobra.Command{}
		cmd.SetOut(&out)
		show(cmd)
		for _, want := range []string{"cairn add PATH", "cairn get CAPABILITY -o OUT"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s on an empty node does not say %q:\n%s", name, want, out.String())
			}
		}
	}
}
