package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/internal/atomicfile"
	"github.com/cairn-fed/cairn/internal/config"
	"github.com/cairn-fed/cairn/node/repo"
)

func newConfigCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Read or change one field of the repository's config.toml",
		Long: "Keys are SECTION.FIELD, as in configs/default.toml (replication.repair_grace).\n" +
			"The daemon reads the file when it starts: restart it to apply a change.",
	}
	cmd.AddCommand(newConfigGetCommand(g), newConfigSetCommand(g))
	return cmd
}

// configPath is the config file of the repository the flags name; it is
// not opened as a repository, so that a broken file can still be read.
func (g *globals) configPath() (string, error) {
	dir, err := repo.ResolveDir(g.repoDir)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, repo.ConfigFile), nil
}

type configAnswer struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
	File  string `json:"file,omitempty"`
	// Restart says the running daemon keeps the old value until it restarts.
	Restart bool `json:"restart_needed,omitempty"`
}

func newConfigGetCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "get KEY",
		Short: "Print a field's value: the file's, or the default",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := g.configPath()
			if err != nil {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("config get: %w", err)
			}
			v, err := config.Get(data, args[0])
			if err != nil {
				return fmt.Errorf("config get: %w", err)
			}
			return g.print(cmd.OutOrStdout(), configAnswer{Key: args[0], Value: v}, func() {
				fmt.Fprintln(cmd.OutOrStdout(), plainValue(v))
			})
		},
	}
}

// plainValue prints a string as it is and anything else as TOML would.
func plainValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v) // whole numbers and lists of strings read the same in TOML
	return string(b)
}

func newConfigSetCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "set KEY VALUE",
		Short: "Change a field, checked as the daemon checks the file; restart the daemon to apply it",
		Long: "VALUE is a TOML value; a string field takes plain text too (5s or \"5s\").\n" +
			"A value the daemon would refuse is refused with the field named, and the file\n" +
			"is left as it was. Only the field's line changes, so comments stay.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := g.configPath()
			if err != nil {
				return err
			}
			if err := writeConfigField(path, args[0], args[1]); err != nil {
				return fmt.Errorf("config set: %w", err)
			}
			ans := configAnswer{Key: args[0], File: path, Restart: true}
			data, _ := os.ReadFile(path)
			ans.Value, _ = config.Get(data, args[0])
			return g.print(cmd.OutOrStdout(), ans, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "Set %s = %s in %s.\nRestart the daemon to apply it: a running daemon keeps the old value.\n", ans.Key, plainValue(ans.Value), path)
			})
		},
	}
}

// writeConfigField rewrites the file at path with key set, atomically, keeping
// its permissions.
func writeConfigField(path, key, value string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := config.Set(data, key, value)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, out, fi.Mode().Perm())
}
