package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v3"
	"golang.org/x/sys/unix"
)

func killCommand() *cli.Command {
	return &cli.Command{
		Name:      "kill",
		Usage:     "send a signal to a container's init",
		ArgsUsage: "<container-id> [signal]",
		Description: `Kill sends SIGNAL (default SIGTERM) to the container's init. SIGNAL is a
name with or without the SIG prefix (KILL, SIGKILL) or a number.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "send the signal to all processes of the container"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Len() > 2 {
				return fmt.Errorf("kill: expected at most 2 arguments, got %d", cmd.Args().Len())
			}
			sig := unix.SIGTERM
			if s := cmd.Args().Get(1); s != "" {
				var err error
				if sig, err = parseSignal(s); err != nil {
					return err
				}
			}
			c, err := loadContainer(ctx, cmd)
			if err != nil {
				return err
			}
			if cmd.Bool("all") {
				return c.SignalAll(sig)
			}
			return c.Signal(sig)
		},
	}
}

// parseSignal accepts "9", "KILL", "SIGKILL" (any case), and realtime
// signals as "RTMIN+3".
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("kill: invalid signal %q", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	if rest, ok := strings.CutPrefix(name, "SIGRTMIN+"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 && 34+n <= 64 {
			return unix.Signal(34 + n), nil
		}
	}
	return 0, fmt.Errorf("kill: unknown signal %q", s)
}
