package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/cairn-fed/cairn/node/api"
	"github.com/cairn-fed/cairn/node/repo"
)

// globals are the flags every command takes.
type globals struct {
	repoDir  string
	json     bool
	logLevel string
}

func newRootCommand() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "cairn",
		Short: "Keep your data safe in several independent places, and know where it is",
		Long: "Cairn is a peer-to-peer replication node for trusted backup federations.\n" +
			"Try `cairn demo` to watch a few nodes on this machine store and fetch a file.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.repoDir, "repo", "", "repository directory (default $CAIRN_PATH, else ~/.cairn)")
	pf.BoolVar(&g.json, "json", false, "print machine-readable JSON")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.AddCommand(
		newInitCommand(g), newDaemonCommand(g), newAddCommand(g), newGetCommand(g), newVerifyCommand(g),
		newLsCommand(g), newIDCommand(g), newConnectCommand(g), newPeersCommand(g),
		newDemoCommand(g), newBenchCommand(g), newFederationCommand(g), newStatusCommand(g), newRmCommand(g), newUndeleteCommand(g),
	)
	root.AddCommand(newEventsCommand(g), newHealthCommand(g))
	root.AddCommand(newDashboardCommand(g), newKeyCommand(g))
	root.AddCommand(newRecoverCommand(g), newCatalogCommand(g), newExportCommand(g), newImportCommand(g), newPinCommand(g), newPinsCommand(g))
	root.AddCommand(newConfigCommand(g), newVersionCommand(g))
	root.AddCommand(newSnapshotCommand(g), newRestoreCommand(g))
	root.AddCommand(newMirrorCommand(g))
	return root
}

// openRepo opens the repository the flags name.
func (g *globals) openRepo() (*repo.Repo, error) {
	dir, err := repo.ResolveDir(g.repoDir)
	if err != nil {
		return nil, err
	}
	return repo.Open(dir)
}

// client connects to the daemon of the repository the flags name.
func (g *globals) client() (*api.Client, error) {
	r, err := g.openRepo()
	if err != nil {
		return nil, err
	}
	return api.Dial(r)
}

func (g *globals) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not debug, info, warn or error", g.logLevel)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), nil
}

// print writes v as JSON with --json, else calls human.
func (g *globals) print(w io.Writer, v any, human func()) error {
	if !g.json {
		human()
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// isTerminal reports whether f is an interactive terminal: one whose
// terminal settings can be read. A character device is not enough:
// /dev/null is one, and a daemon started by a service manager, nohup or
// setsid often has it as stdin.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
