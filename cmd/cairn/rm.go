package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/node"
)

func newRmCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rm CID",
		Short: "Delete an object you added, on every holder (undo with `cairn undelete` within the trash window)",
		Long: `Delete an object you added. A signed tombstone goes to every holder in the
federation, including those offline now (they apply it when they return,
before they serve anything). Holders stop serving, counting and repairing the
object at once, confirm, and remove its blocks after the trash window
(deletion.trash_window, 24 h by default). Until then, ` + "`cairn undelete CID`" + ` brings
it back. ` + "`cairn status CID`" + ` shows how many holders have confirmed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDeletion(cmd, g, args[0], func(c deletionClient, ctx context.Context, id string) (node.DeletionResult, error) {
				return c.Delete(ctx, id)
			})
		},
	}
}

func newUndeleteCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "undelete CID",
		Short: "Restore an object you deleted, while its trash window lasts",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDeletion(cmd, g, args[0], func(c deletionClient, ctx context.Context, id string) (node.DeletionResult, error) {
				return c.Undelete(ctx, id)
			})
		},
	}
}

type deletionClient interface {
	Delete(ctx context.Context, cid string) (node.DeletionResult, error)
	Undelete(ctx context.Context, cid string) (node.DeletionResult, error)
}

func runDeletion(cmd *cobra.Command, g *globals, id string, do func(deletionClient, context.Context, string) (node.DeletionResult, error)) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	res, err := do(c, cmd.Context(), id)
	if err != nil {
		return err
	}
	return g.print(cmd.OutOrStdout(), res, func() {
		w := cmd.OutOrStdout()
		if !res.Deleted {
			fmt.Fprintf(w, "Restored %s: holders serve and count it again.\n", res.CID)
			return
		}
		fmt.Fprintf(w, "Deleted %s: holders stop serving it now and confirm; see `cairn status %s`.\n", res.CID, res.CID)
		if res.PurgeAfter != nil {
			fmt.Fprintf(w, "Its blocks are removed after %s; until then `cairn undelete %s` restores it.\n",
				res.PurgeAfter.Local().Format(time.DateTime), res.CID)
		}
	})
}

func newFedTakedownCommand(g *globals) *cobra.Command {
	var reason string
	var lift bool
	cmd := &cobra.Command{
		Use:   "takedown CID --reason TEXT | --lift",
		Short: "As the federation authority, delete any member's object for a stated reason (or --lift it)",
		Long: `Sign, with the federation authority key held by this node, a takedown
tombstone for an object: every holder stops serving it and removes its blocks
after the trash window, as with cairn rm. The reason is shown with the
object's status. The owner cannot undo a takedown; --lift restores the object
while its blocks still exist.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.Takedown(cmd.Context(), args[0], reason, lift)
			if err != nil {
				return fmt.Errorf("federation takedown: %w", err)
			}
			return g.print(cmd.OutOrStdout(), res, func() {
				if lift {
					fmt.Fprintf(cmd.OutOrStdout(), "Takedown of %s lifted.\n", res.CID)
					return
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Took down %s: holders stop serving it now; see `cairn status %s`.\n", res.CID, res.CID)
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, in words the owner and holders will see (required unless --lift)")
	cmd.Flags().BoolVar(&lift, "lift", false, "restore an object taken down, while its blocks still exist")
	return cmd
}
