package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/huskrt/husk/libcontainer"
	"github.com/huskrt/husk/libcontainer/configs"
	"github.com/huskrt/husk/specconv"
	"github.com/urfave/cli/v3"
)

// createFlags are the flags `create` and `run` share.
func createFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "path to the root of the bundle directory (default: current directory)"},
		&cli.StringFlag{Name: "console-socket", Usage: "path to an AF_UNIX socket which will receive the pty master fd"},
		&cli.StringFlag{Name: "pidfd-socket", Usage: "path to an AF_UNIX socket which will receive a pidfd (not supported yet)"},
		&cli.StringFlag{Name: "pid-file", Usage: "file to write the container's init pid to"},
		&cli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot_root (for a ramdisk root); less secure"},
		&cli.BoolFlag{Name: "no-new-keyring", Usage: "do not create a new session keyring for the container"},
		&cli.IntFlag{Name: "preserve-fds", Usage: "pass N additional file descriptors (from 3 on) to the container"},
	}
}

// bundleConfig loads, validates and converts the bundle's config.json.
func bundleConfig(cmd *cli.Command, log *logger) (bundle string, cfg *configs.Config, err error) {
	bundle = cmd.String("bundle")
	if bundle == "" {
		if bundle, err = os.Getwd(); err != nil {
			return "", nil, err
		}
	}
	if bundle, err = filepath.Abs(bundle); err != nil {
		return "", nil, err
	}
	spec, err := specconv.LoadSpec(bundle)
	if err != nil {
		return "", nil, err
	}
	cfg, err = specconv.Convert(spec, bundle)
	if err != nil {
		return "", nil, err
	}
	for _, w := range specconv.Warnings(spec) {
		log.Warn(w)
	}
	if cmd.Bool("no-pivot") {
		cfg.NoPivotRoot = true
	}
	return bundle, cfg, nil
}

// listenFDs returns how many socket-activation fds (LISTEN_FDS) were
// meant for this process; they pass to the container like preserved fds.
func listenFDs() int {
	pid, err := strconv.Atoi(os.Getenv("LISTEN_PID"))
	if err != nil || pid != os.Getpid() {
		return 0
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// createContainer is `create` and the first half of `run`.
func createContainer(ctx context.Context, cmd *cli.Command, id string, opts libcontainer.CreateOptions) (*libcontainer.Container, error) {
	// Accepted by every command (engines pass it to all of them), but a
	// container cannot be made with it until cgroups are managed.
	if cmd.Bool("systemd-cgroup") {
		return nil, fmt.Errorf("--systemd-cgroup: systemd cgroup management is not supported yet")
	}
	if cmd.String("pidfd-socket") != "" {
		return nil, fmt.Errorf("--pidfd-socket: not supported yet")
	}
	bundle, cfg, err := bundleConfig(cmd, loggerFrom(ctx))
	if err != nil {
		return nil, err
	}
	root, err := openRoot(ctx, cmd)
	if err != nil {
		return nil, err
	}
	preserve := cmd.Int("preserve-fds")
	if preserve < 0 {
		return nil, fmt.Errorf("--preserve-fds: must not be negative")
	}
	if n := listenFDs(); n > 0 && cfg.Process != nil {
		cfg.Process.Env = append(cfg.Process.Env, "LISTEN_FDS="+strconv.Itoa(n), "LISTEN_PID=1")
		preserve += n
	}
	opts.Bundle = bundle
	opts.ConsoleSocket = cmd.String("console-socket")
	opts.PreserveFDs = preserve
	opts.NoNewKeyring = cmd.Bool("no-new-keyring")
	c, err := root.Create(id, cfg, opts)
	if err != nil {
		return nil, err
	}
	if path := cmd.String("pid-file"); path != "" {
		if err := writePidFile(path, c.Pid()); err != nil {
			c.Destroy(true)
			return nil, err
		}
	}
	return c, nil
}

// writePidFile writes the pid without a newline, atomically (a new temp
// file, then rename), relative to the caller's cwd. The temp file gets a
// random name and is created exclusively, so a symlink planted in a
// directory others can write to cannot redirect the write.
func writePidFile(path string, pid int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("--pid-file %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".*")
	if err != nil {
		return fmt.Errorf("--pid-file %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(strconv.Itoa(pid)); err != nil {
		tmp.Close()
		return fmt.Errorf("--pid-file %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("--pid-file %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--pid-file %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), abs); err != nil {
		return fmt.Errorf("--pid-file %s: %w", path, err)
	}
	return nil
}
