package main

import (
	"context"

	"github.com/huskrt/husk/libcontainer"
	"github.com/urfave/cli/v3"
)

func createCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create a container",
		ArgsUsage: "<container-id>",
		Description: `Create a container from the bundle and leave its process waiting;
"start" runs the user-defined process.`,
		Flags: createFlags(),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			id, err := containerID(cmd)
			if err != nil {
				return err
			}
			_, err = createContainer(ctx, cmd, id, libcontainer.CreateOptions{})
			return err
		},
	}
}
