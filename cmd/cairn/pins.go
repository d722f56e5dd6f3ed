package main

import (
	"fmt"
	"maps"
	"slices"

	"github.com/spf13/cobra"
)

func newPinsCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pins",
		Short: "Manage the IPFS Pinning Service API (tokens for `ipfs pin remote`)",
		Long: `The Pinning Service API (pins.listen in config.toml) lets IPFS tools hand
DAGs to the federation: ` + "`ipfs pin remote service add cairn URL TOKEN`" + `, then
` + "`ipfs pin remote add --service=cairn CID`" + `. Each user has its own tokens and
sees and changes only its own pins; a token allows nothing else on this node.`,
	}
	token := &cobra.Command{Use: "token", Short: "Create, list and revoke Pinning Service tokens"}
	var user string
	create := &cobra.Command{
		Use:   "create --name USER",
		Short: "Make a bearer token for USER (printed once; only its hash is kept)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			t, err := c.CreatePinsToken(cmd.Context(), user)
			if err != nil {
				return fmt.Errorf("pins token create: %w", err)
			}
			return g.print(cmd.OutOrStdout(), t, func() {
				fmt.Fprintln(cmd.OutOrStdout(), t.Token)
			})
		},
	}
	create.Flags().StringVar(&user, "name", "", "whose token it is (their pins are theirs alone)")
	_ = create.MarkFlagRequired("name")
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List the users that have tokens",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			users, err := c.PinsUsers(cmd.Context())
			if err != nil {
				return fmt.Errorf("pins token ls: %w", err)
			}
			return g.print(cmd.OutOrStdout(), users, func() {
				for _, u := range slices.Sorted(maps.Keys(users)) {
					fmt.Fprintf(cmd.OutOrStdout(), "%s\t%d token(s)\n", u, users[u])
				}
			})
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke USER",
		Short: "Revoke every token of USER (their pins stay)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			n, err := c.RevokePinsTokens(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("pins token revoke: %w", err)
			}
			return g.print(cmd.OutOrStdout(), map[string]int{"revoked": n}, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "Revoked %d token(s) of %s\n", n, args[0])
			})
		},
	}
	token.AddCommand(create, ls, revoke)
	cmd.AddCommand(token)
	return cmd
}
