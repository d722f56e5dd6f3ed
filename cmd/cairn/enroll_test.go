package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/node"
)

// TestFormFederationThroughADirectory: started before the daemons, as
// compose starts them, `federation form` on the founder and `federation
// request` on two others make a federation of three through a shared
// directory; run again, both find the work done.
func TestFormFederationThroughADirectory(t *testing.T) {
	dirs := []string{initRepo(t, "n1"), initRepo(t, "n2"), initRepo(t, "n3")}
	shared := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	steps := []*exec.Cmd{
		cairnCmd(ctx, dirs[0], "federation", "form", "riverside", "--operator", "op1", "--region", "eu", "--dir", shared,
			"--member", "n2=op2/us", "--member", "n3=op3/us"),
		cairnCmd(ctx, dirs[1], "federation", "request", "--dir", shared, "--name", "n2"),
		cairnCmd(ctx, dirs[2], "federation", "request", "--dir", shared, "--name", "n3"),
	}
	outs := make([]*bytes.Buffer, len(steps))
	for i, c := range steps {
		outs[i] = &bytes.Buffer{}
		c.Stdout, c.Stderr = outs[i], outs[i]
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range dirs {
		startDaemon(t, d)
	}
	for i, c := range steps {
		if err := c.Wait(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(c.Args[3:5], " "), err, outs[i])
		}
	}
	var info node.FederationInfo
	waitFor(t, 30*time.Second, "three members seen from n3", func() bool {
		cairnJSON(t, dirs[2], &info, "federation", "show")
		return len(info.Members) == 3
	})
	if info.HasAuthority || len(info.ByOperator) != 3 || len(info.ByRegion["us"]) != 2 {
		t.Errorf("federation as n3 sees it: %+v", info)
	}
	if out := cairn(t, dirs[1], "federation", "request", "--dir", shared, "--name", "n2"); !strings.Contains(out, "Already a member") {
		t.Errorf("a second request: %q", out)
	}
	cairn(t, dirs[0], "federation", "form", "riverside", "--operator", "op1", "--region", "eu", "--dir", shared, "--member", "n2=op2/us", "--timeout", "10s")
	if _, err := cairnResult(t, dirs[0], nil, "federation", "form", "x", "--operator", "o", "--region", "r", "--dir", shared, "--member", "../n2=op/r"); err == nil {
		t.Error("form took a member name that is a path")
	}
}
