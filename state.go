package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v3"
)

func stateCommand() *cli.Command {
	return &cli.Command{
		Name:        "state",
		Usage:       "print the state of a container as JSON",
		ArgsUsage:   "<container-id>",
		Description: `State prints the OCI state of the container (plus runc's rootfs, created and owner).`,
		Action: func(ctx context.Context, cmd *cli.Command) error {
			c, err := loadContainer(ctx, cmd)
			if err != nil {
				return err
			}
			data, err := json.MarshalIndent(c.State(), "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.Root().Writer, string(data))
			return err
		},
	}
}
