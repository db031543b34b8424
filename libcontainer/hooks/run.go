package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/huskrt/husk/libcontainer/configs"
)

// outputLimit is how many trailing bytes of each of stdout and stderr are
// kept for the error message; a chatty hook must not fill our memory.
const outputLimit = 4 << 10

// pipeDrainDelay bounds how long we wait for stdout/stderr to close once
// the hook itself has exited or was killed: a child the hook left behind
// may hold them open for ever.
const pipeDrainDelay = time.Second

// Run runs hooks in order, each with state (the OCI state JSON) on its
// stdin, and stops at the first failure. name is the lifecycle point
// ("prestart", "createRuntime", ...) and only appears in errors, which look
// like
//
//	prestart hook #0 (/usr/bin/setup): exit status 3: <stderr tail>
//	createRuntime hook #1 (/bin/slow): timed out after 2s
//
// A timed-out hook is killed with its whole process group; the error then
// wraps context.DeadlineExceeded. A hook that exits non-zero yields an error
// wrapping its *exec.ExitError.
//
// Environment entries are passed as given, except that os/exec keeps only
// the last of duplicated keys and rejects entries containing NUL.
func Run(name string, hooks []configs.Hook, state []byte) error {
	return RunIn(name, hooks, state, nil)
}

// Launcher starts a hook's command somewhere other than here, e.g. inside a
// container's namespaces. It may rewrite cmd (Path, Args, Env, append to
// ExtraFiles) but must keep cmd.SysProcAttr's Setpgid, and starts it.
type Launcher func(cmd *exec.Cmd) error

// RunIn is Run with every hook started by launch (nil: cmd.Start).
func RunIn(name string, hooks []configs.Hook, state []byte, launch Launcher) error {
	for i, hook := range hooks {
		if err := runHook(hook, state, launch); err != nil {
			return fmt.Errorf("%s hook #%d (%s): %w", name, i, hook.Path, err)
		}
	}
	return nil
}

func runHook(hook configs.Hook, state []byte, launch Launcher) error {
	if !filepath.IsAbs(hook.Path) {
		return errors.New("path is not absolute")
	}
	ctx := context.Background()
	var timeout time.Duration
	if hook.Timeout != nil {
		if *hook.Timeout <= 0 {
			return fmt.Errorf("invalid timeout %d: must be more than 0 seconds", *hook.Timeout)
		}
		timeout = time.Duration(*hook.Timeout) * time.Second
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}

	closeFDs, err := closedInChild()
	if err != nil {
		return err
	}
	var stdout, stderr tailBuffer
	cmd := exec.CommandContext(ctx, hook.Path)
	cmd.ExtraFiles = closeFDs
	cmd.Args = hookArgs(hook)
	// A nil Env would make os/exec pass our own environment.
	cmd.Env = append([]string{}, hook.Env...)
	cmd.Stdin = bytes.NewReader(state)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	// Its own process group lets a timeout kill whatever the hook started
	// too, e.g. the sleep(1) of a shell script.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd) }
	cmd.WaitDelay = pipeDrainDelay

	if launch == nil {
		launch = (*exec.Cmd).Start
	}
	err = launch(cmd)
	if err == nil {
		err = cmd.Wait()
	}
	// A hook that succeeded just as the deadline passed still succeeded.
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &failure{
			cause:   context.DeadlineExceeded,
			summary: fmt.Sprintf("timed out after %s", timeout),
			stdout:  stdout.String(),
			stderr:  stderr.String(),
		}
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil, errors.Is(err, exec.ErrWaitDelay):
		// ErrWaitDelay alone means the hook succeeded but left something
		// running that still holds its output open: not our concern.
		return nil
	case errors.As(err, &exitErr):
		return &failure{
			cause:   exitErr,
			summary: exitErr.Error(),
			stdout:  stdout.String(),
			stderr:  stderr.String(),
		}
	default:
		return err
	}
}

// hookArgs returns the argv of hook: args as given (args[0] is argv[0]),
// or just the path when there are none.
func hookArgs(hook configs.Hook) []string {
	if len(hook.Args) == 0 {
		return []string{hook.Path}
	}
	return append([]string{}, hook.Args...)
}

// killGroup SIGKILLs the hook's process group (its pgid is its pid, see
// Setpgid).
func killGroup(cmd *exec.Cmd) error {
	err := unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
	if errors.Is(err, unix.ESRCH) {
		// Already gone; Wait reports how it ended.
		return nil
	}
	return err
}

// failure is a hook that ran and failed, with the tail of its output.
type failure struct {
	cause   error
	summary string
	stdout  string
	stderr  string
}

func (f *failure) Error() string {
	msg := f.summary
	if f.stderr != "" {
		msg += ": " + f.stderr
	}
	if f.stdout != "" {
		msg += " (stdout: " + f.stdout + ")"
	}
	return msg
}

func (f *failure) Unwrap() error { return f.cause }

// RunAll runs every hook even when some fail, and returns the failures
// (nil when all succeeded). It is for poststart and poststop hooks, whose
// failures the runtime-spec turns into warnings: "the remaining hooks and
// lifecycle continue as if the hook had succeeded". Each hook is started
// by launch (nil: cmd.Start).
func RunAll(name string, hooks []configs.Hook, state []byte, launch Launcher) []error {
	var errs []error
	for i, hook := range hooks {
		if err := runHook(hook, state, launch); err != nil {
			errs = append(errs, fmt.Errorf("%s hook #%d (%s): %w", name, i, hook.Path, err))
		}
	}
	return errs
}
