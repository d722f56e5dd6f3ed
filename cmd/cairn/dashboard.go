package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/node/api"
	"github.com/cairn-fed/cairn/node/dashboard"
	"github.com/cairn-fed/cairn/node/repo"
)

func newDashboardCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "dashboard",
		Short: "Print the link that opens this node's web dashboard",
		Long: "Dashboard prints the address of the web dashboard the daemon serves on its API\n" +
			"address. The link carries the API token after the #, which the browser keeps\n" +
			"to itself: anyone with the link can read this node's status, so keep it private.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := g.openRepo()
			if err != nil {
				return err
			}
			link, err := dashboardURL(cmd, r)
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), map[string]string{"url": link}, func() {
				fmt.Fprintln(cmd.OutOrStdout(), "Open the dashboard in a browser on this machine:")
				fmt.Fprintln(cmd.OutOrStdout(), "  "+link)
			})
		},
	}
}

// dashboardURL checks that the repository's daemon answers and returns
// the dashboard's address with the token.
func dashboardURL(cmd *cobra.Command, r *repo.Repo) (string, error) {
	c, err := api.Dial(r)
	if err != nil {
		return "", err
	}
	if _, err := c.ID(cmd.Context()); err != nil {
		return "", fmt.Errorf("dashboard: %w", err)
	}
	addr, err := r.APIAddr()
	if err != nil {
		return "", err
	}
	token, err := r.Token()
	if err != nil {
		return "", err
	}
	return dashboard.URL(addr, token), nil
}
