package main

import (
	"context"
	"errors"

	"github.com/huskrt/husk/libcontainer"
	"github.com/urfave/cli/v3"
)

func deleteCommand() *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Usage:     "delete a container and everything it holds",
		ArgsUsage: "<container-id>",
		Description: `Delete removes a stopped or created container. A running container is
refused unless --force, which kills it first.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the container first if it is running"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			c, err := loadContainer(ctx, cmd)
			if errors.Is(err, libcontainer.ErrNotExist) && cmd.Bool("force") {
				// A create that died before saving its state may have left
				// its directory; -f must leave nothing behind.
				root, rerr := openRoot(ctx, cmd)
				if rerr != nil {
					return rerr
				}
				id := cmd.Args().First()
				removed, rerr := root.RemoveIncomplete(id)
				if rerr != nil || removed {
					return rerr
				}
				// A create that was under way finished meanwhile.
				if c, lerr := root.Load(id); lerr == nil {
					if derr := c.Destroy(true); !errors.Is(derr, libcontainer.ErrNotExist) {
						return derr
					}
				}
				return nil
			}
			if err != nil {
				return err
			}
			err = c.Destroy(cmd.Bool("force"))
			if errors.Is(err, libcontainer.ErrNotExist) && cmd.Bool("force") {
				// Another delete won the race: with -f that is success.
				return nil
			}
			return err
		},
	}
}
