package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/huskrt/husk/libcontainer"
	"github.com/urfave/cli/v3"
)

func listCommand() *cli.Command {
	return &cli.Command{
		Name:        "list",
		Aliases:     []string{"ls"},
		Usage:       "list the containers of the state root",
		Description: `List prints the containers under --root as a table or as JSON.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the container ids"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			root, err := openRoot(ctx, cmd)
			if err != nil {
				return err
			}
			cs, err := root.List()
			if err != nil {
				return err
			}
			states := make([]*libcontainer.State, len(cs))
			for i, c := range cs {
				states[i] = c.State()
			}
			w := cmd.Root().Writer
			if cmd.Bool("quiet") {
				for _, s := range states {
					fmt.Fprintln(w, s.ID)
				}
				return nil
			}
			switch cmd.String("format") {
			case "json":
				if states == nil {
					states = []*libcontainer.State{}
				}
				return json.NewEncoder(w).Encode(states)
			case "table":
				tw := tabwriter.NewWriter(w, 12, 1, 3, ' ', 0)
				fmt.Fprint(tw, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
				for _, s := range states {
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
				}
				return tw.Flush()
			}
			return fmt.Errorf("list: invalid --format %q (table or json)", cmd.String("format"))
		},
	}
}
