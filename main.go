// Command husk is a low-level OCI container runtime with runc's command
// line: engines (containerd, Podman, CRI-O) can call it exactly as they
// call runc. All container logic lives in package libcontainer; this
// package only parses flags, prints and logs.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/huskrt/husk/libcontainer"
	_ "github.com/huskrt/husk/libcontainer/nsenter"
	"github.com/huskrt/husk/libcontainer/timerslack"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v3"
)

// Set by the Makefile with -ldflags -X.
var (
	version = "0.1.0-dev"
	commit  = ""
)

const defaultRoot = "/run/husk"

// exitError carries a process exit status out of an Action (`run`'s
// container status, `exec` failures as 255) without an error message.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	// One P: a husk command is a short sequence of syscalls with nothing
	// to run in parallel, and every P keeps its own cache of heap spans
	// (≈ 0.3 MiB of RSS for the second one on this 2-CPU machine). Set
	// explicitly, it also stops the runtime from re-reading the cgroup's
	// CPU quota every second while `run` waits for its container.
	runtime.GOMAXPROCS(1)
	os.Exit(runMain(os.Args))
}

// relaxedTimerSlack is the timer slack of husk's own threads. Its timers
// are not latency-critical, and with the default 50 µs the Go runtime's
// monitor thread wakes every ≈ 100 µs while husk works: ≈ 0.4 ms of a
// `run` (package timerslack, docs/performance.md).
const relaxedTimerSlack = 1_000_000 // ns

func runMain(args []string) int {
	log := &logger{w: os.Stderr}
	ctx := withLogger(context.Background(), log)
	// Containers and hooks get the slack husk was started with. Without
	// CAP_SYS_NICE Relax fails and changes nothing: nothing to restore.
	if previous, err := timerslack.Relax(relaxedTimerSlack); err == nil {
		ctx = withChildTimerSlack(ctx, previous)
	}
	err := newApp().Run(ctx, args)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	log.fatal(err)
	return 1
}

func newApp() *cli.Command {
	return &cli.Command{
		Name:  "husk",
		Usage: "a low-level OCI container runtime",
		Description: `husk runs containers from OCI bundles: a directory with a config.json
and a root filesystem. Its commands, flags, exit codes and output are those of runc.`,
		Version:                   versionText(),
		EnableShellCompletion:     false,
		HideHelpCommand:           true,
		DisableSliceFlagSeparator: true,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "debug", Usage: "enable debug logging"},
			&cli.StringFlag{Name: "log", Usage: "write the runtime's log to `FILE` (default: stderr)"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.StringFlag{Name: "root", Value: defaultRoot, Usage: "state directory of the containers"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "use systemd to manage cgroups (not supported yet)"},
			&cli.StringFlag{Name: "rootless", Value: "auto", Usage: "rootless mode: true, false or auto"},
			&cli.StringFlag{Name: "criu", Hidden: true, Usage: "path to criu (checkpoint is not supported)"},
		},
		Before: setupGlobal,
		Commands: []*cli.Command{
			createCommand(),
			deleteCommand(),
			featuresCommand(),
			killCommand(),
			listCommand(),
			runCommand(),
			specCommand(),
			startCommand(),
			stateCommand(),
		},
		ExitErrHandler: func(context.Context, *cli.Command, error) {},
	}
}

func versionText() string {
	lines := []string{version}
	if commit != "" {
		lines = append(lines, "commit: "+commit)
	}
	lines = append(lines, "spec: "+specs.Version, "go: "+runtime.Version())
	return strings.Join(lines, "\n")
}

// setupGlobal validates the global flags and points the logger at --log.
func setupGlobal(ctx context.Context, cmd *cli.Command) (context.Context, error) {
	format := cmd.String("log-format")
	if format != "text" && format != "json" {
		return ctx, fmt.Errorf("--log-format: unknown format %q (text or json)", format)
	}
	switch cmd.String("rootless") {
	case "true", "false", "auto":
	default:
		return ctx, fmt.Errorf("--rootless: invalid value %q (true, false or auto)", cmd.String("rootless"))
	}
	if err := loggerFrom(ctx).configure(cmd.String("log"), format, cmd.Bool("debug")); err != nil {
		return ctx, err
	}
	return ctx, nil
}

func openRoot(ctx context.Context, cmd *cli.Command) (*libcontainer.Root, error) {
	root, err := libcontainer.OpenRoot(cmd.String("root"))
	if err != nil {
		return nil, err
	}
	root.SetLogger(loggerFrom(ctx))
	root.SetChildTimerSlack(childTimerSlackFrom(ctx))
	return root, nil
}

// containerID returns the single ID argument of a command.
func containerID(cmd *cli.Command) (string, error) {
	if cmd.Args().Len() < 1 {
		return "", fmt.Errorf("%s: container id cannot be empty", cmd.Name)
	}
	if cmd.Args().Len() > 1 && cmd.Name != "kill" {
		return "", fmt.Errorf("%s: expected 1 argument, got %d", cmd.Name, cmd.Args().Len())
	}
	return cmd.Args().First(), nil
}

func loadContainer(ctx context.Context, cmd *cli.Command) (*libcontainer.Container, error) {
	id, err := containerID(cmd)
	if err != nil {
		return nil, err
	}
	root, err := openRoot(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return root.Load(id)
}

// childTimerSlackKey is the context key of the timer slack husk had when
// it started, which the processes it starts get back (0: unchanged).
type childTimerSlackKey struct{}

func withChildTimerSlack(ctx context.Context, ns uint64) context.Context {
	return context.WithValue(ctx, childTimerSlackKey{}, ns)
}

func childTimerSlackFrom(ctx context.Context) uint64 {
	ns, _ := ctx.Value(childTimerSlackKey{}).(uint64)
	return ns
}
