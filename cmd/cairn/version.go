package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is the release this binary is, set at build time with
// -ldflags '-X main.version=v1.2.3'; empty, the module version the Go
// toolchain recorded is used, or "devel" for a build from a checkout.
var version = ""

// versionInfo is what `cairn version` reports.
type versionInfo struct {
	Version    string `json:"version"`
	Go         string `json:"go"`
	Platform   string `json:"platform"`
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"commit_time,omitempty"`
	// Modified: the checkout had changes that were not committed.
	Modified bool `json:"modified,omitempty"`
}

func newVersionCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print this binary's version, Go version and commit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bi, ok := debug.ReadBuildInfo()
			v := readVersion(version, bi, ok)
			return g.print(cmd.OutOrStdout(), v, func() { printVersion(cmd, v) })
		},
	}
}

// readVersion gathers the version from the build's own records: the Go
// toolchain's module version and the VCS settings it stamps (none with
// -buildvcs=false or outside a checkout).
func readVersion(release string, bi *debug.BuildInfo, ok bool) versionInfo {
	v := versionInfo{Version: release, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if ok && bi != nil {
		v.Go = bi.GoVersion
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.time":
				v.CommitTime = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if v.Version == "" {
		v.Version = "devel"
	}
	return v
}

func printVersion(cmd *cobra.Command, v versionInfo) {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "cairn %s\nGo:       %s %s\n", v.Version, v.Go, v.Platform)
	if v.Commit == "" {
		fmt.Fprintln(out, "Commit:   unknown (built without version control information)")
		return
	}
	modified := ""
	if v.Modified {
		modified = ", with uncommitted changes"
	}
	fmt.Fprintf(out, "Commit:   %s (%s%s)\n", v.Commit, v.CommitTime, modified)
}
