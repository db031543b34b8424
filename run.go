package main

import (
	"context"
	"errors"
	"os"
	"os/signal"

	"github.com/huskrt/husk/libcontainer"
	"github.com/urfave/cli/v3"
)

func runCommand() *cli.Command {
	flags := append(createFlags(),
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container is started"},
		&cli.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits"},
		&cli.BoolFlag{Name: "no-subreaper", Usage: "do not make husk a child subreaper"},
	)
	return &cli.Command{
		Name:      "run",
		Usage:     "create and start a container, and wait for it",
		ArgsUsage: "<container-id>",
		Description: `Run creates and starts the container. In the foreground it forwards signals,
waits, exits with the container's status (128+N when killed by signal N) and
deletes the container unless --keep.`,
		Flags:  flags,
		Action: runAction,
	}
}

func runAction(ctx context.Context, cmd *cli.Command) error {
	id, err := containerID(cmd)
	if err != nil {
		return err
	}
	detach := cmd.Bool("detach")
	if detach && cmd.Bool("keep") {
		return errors.New("run: --keep and --detach cannot be used together")
	}
	if !detach && cmd.String("console-socket") != "" {
		// As runc: the pty master of a foreground container is husk's to
		// proxy; a console socket is for callers that detach.
		return errors.New("run: --console-socket can only be used with --detach")
	}
	opts := libcontainer.CreateOptions{Subreaper: !detach && !cmd.Bool("no-subreaper")}
	var tty *ttyProxy
	if !detach {
		// A foreground container with a terminal gets its pty master over
		// a private socket; husk proxies it to its own stdio.
		if tty, err = newTTYProxy(loggerFrom(ctx)); err != nil {
			return err
		}
		defer tty.close()
		opts.ConsoleConn = tty.childEnd
	}
	// Signals that come while the container is being created are held and
	// forwarded once it exists, instead of killing husk half-way and
	// leaving a created container behind.
	early := make(chan os.Signal, 32)
	if !detach {
		signal.Notify(early, libcontainer.ForwardableSignals()...)
	}
	c, err := createContainer(ctx, cmd, id, opts)
	if err != nil {
		signal.Stop(early)
		return err
	}
	if p := c.Config().Process; tty != nil && p != nil && p.Terminal {
		if err := tty.start(); err != nil {
			c.Destroy(true)
			return err
		}
	}
	if detach {
		if err := c.Start(); err != nil {
			c.Destroy(true)
			return err
		}
		return nil
	}
	// Forwarding starts once the workload runs: a signal sent to husk
	// init while it waits to be released would kill it, not reach the
	// workload. Signals that come before are held in early.
	if err := c.Start(); err != nil {
		signal.Stop(early)
		c.Destroy(true)
		return err
	}
	stopSignals := c.ForwardSignalsFrom(early)
	code, err := c.Wait()
	stopSignals()
	if tty != nil {
		tty.finish()
	}
	if !cmd.Bool("keep") {
		// As runc: a failed cleanup is reported but the exit status stays
		// the container's.
		if derr := c.Destroy(true); derr != nil {
			loggerFrom(ctx).Warn(derr.Error())
		}
	}
	if err != nil {
		return err
	}
	return &exitError{code: code}
}
