package main

import (
	"context"

	"github.com/urfave/cli/v3"
)

func startCommand() *cli.Command {
	return &cli.Command{
		Name:        "start",
		Usage:       "run the user-defined process of a created container",
		ArgsUsage:   "<container-id>",
		Description: `Start releases a container made by "create" to run its process.`,
		Action: func(ctx context.Context, cmd *cli.Command) error {
			c, err := loadContainer(ctx, cmd)
			if err != nil {
				return err
			}
			return c.Start()
		},
	}
}
