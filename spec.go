package main

import (
	"context"

	"github.com/huskrt/husk/specconv"
	"github.com/urfave/cli/v3"
)

func specCommand() *cli.Command {
	return &cli.Command{
		Name:  "spec",
		Usage: "write a default config.json for a new bundle",
		Description: `Spec writes a starting config.json into the bundle directory. It refuses to
overwrite an existing one.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "bundle directory (default: current directory)"},
			&cli.BoolFlag{Name: "rootless", Usage: "make a spec for a rootless container"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			spec := specconv.Example()
			if cmd.Bool("rootless") {
				specconv.ToRootless(spec)
			}
			dir := cmd.String("bundle")
			if dir == "" {
				dir = "."
			}
			return specconv.WriteSpec(dir, spec)
		},
	}
}
