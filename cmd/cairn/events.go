package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/api"
)

func newEventsCommand(g *globals) *cobra.Command {
	var (
		follow bool
		since  string
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Print what happened on this node: objects added, copies verified or lost, repairs, peers",
		Long: "Events prints this node's event stream, oldest first: objects added, copies\n" +
			"verified and lost, targets reached, repairs, deletions, peers joining and\n" +
			"leaving. With --json each event is one JSON line with its \"cursor\"; save the\n" +
			"cursor of the last event handled and pass it to --since to go on from there\n" +
			"with no event missed or repeated. --follow keeps printing new events until\n" +
			"interrupted; if this command falls behind the node, it resumes by itself.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			p := &eventPrinter{out: cmd.OutOrStdout(), json: g.json, cursor: since}
			err = p.run(ctx, c, follow, cmd.ErrOrStderr())
			if !g.json && p.cursor != "" && p.cursor != since {
				fmt.Fprintf(cmd.ErrOrStderr(), "to go on after these events: cairn events --since %s\n", p.cursor)
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new events as they happen")
	cmd.Flags().StringVar(&since, "since", "", "print only the events after this cursor (an event's \"cursor\")")
	return cmd
}

// eventPrinter prints events and remembers the cursor of the last one.
type eventPrinter struct {
	out    io.Writer
	json   bool
	cursor string // after the last event printed
}

// run prints the stream, resuming by itself when the daemon cut it off
// for reading too slowly. An interrupt ends it without an error.
func (p *eventPrinter) run(ctx context.Context, c *api.Client, follow bool, stderr io.Writer) error {
	for {
		end, err := c.Events(ctx, p.cursor, follow, p.print)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			return fmt.Errorf("events: %w", err)
		case end.End == api.EndTooSlow:
			fmt.Fprintf(stderr, "cairn: events: fell behind the node; resuming after cursor %s\n", end.Resume)
			p.cursor = end.Resume
			continue
		case end.End != api.EndCaughtUp:
			return fmt.Errorf("events: the node ended the stream (%s: %s); resume with --since %s", end.End, end.Error, end.Resume)
		}
		return nil
	}
}

func (p *eventPrinter) print(ev netstat.Event) error {
	var err error
	if p.json {
		var line []byte
		if line, err = json.Marshal(ev); err == nil {
			_, err = p.out.Write(append(line, '\n'))
		}
	} else {
		_, err = fmt.Fprintf(p.out, "%s  %s\n", ev.At.Local().Format("2006-01-02 15:04:05"), ev.Describe())
	}
	if err != nil {
		return fmt.Errorf("write event: %w", err)
	}
	p.cursor = ev.Cursor().String()
	return nil
}
