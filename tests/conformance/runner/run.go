package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// suite holds what every program run shares.
type suite struct {
	runtime    string // absolute path of the runtime binary under test
	runtimeArg []string
	binDir     string // holds validation/, runtimetest, rootfs-amd64.tar.gz
	logDir     string
	scratchDir string // parent of the per-program working directories
	timeout    time.Duration
	keep       bool
}

const cleanupTimeout = 30 * time.Second

// result is one program's row in the report.
type result struct {
	name     string
	verdict  verdict
	detail   string
	report   tapReport
	duration time.Duration
	notRun   bool // the run was interrupted before this program
}

// runProgram runs one validation program in a scratch directory of its own,
// with a private runtime state root, and removes what it left behind.
func (s suite) runProgram(ctx context.Context, name string) result {
	started := time.Now()
	res := result{name: name}
	workDir, err := makeSearchableTempDir(s.scratchDir, name+"-")
	if err != nil {
		res.verdict, res.detail = verdictFail, err.Error()
		return res
	}
	if !s.keep {
		defer os.RemoveAll(workDir)
	}

	wrapper, err := s.prepareWorkDir(workDir)
	var run execution
	if err != nil {
		run = execution{startErr: err, exitCode: -1}
	} else {
		run = s.execute(ctx, name, workDir, wrapper)
	}
	cleanupLog := cleanupContainers(wrapper)

	res.report = parseTAP(run.stdout)
	res.verdict, res.detail = judge(name, run, res.report)
	res.duration = time.Since(started)
	if err := s.writeLog(name, wrapper, run, res, cleanupLog); err != nil {
		fmt.Fprintf(os.Stderr, "conformance: %v\n", err)
	}
	return res
}

// prepareWorkDir lays out what a validation program expects in its cwd:
// a real ./runtimetest file (it is copied into each bundle, so a symlink
// would not do), ./rootfs-amd64.tar.gz, and a RUNTIME wrapper that pins
// the runtime to a state root nobody else uses.
func (s suite) prepareWorkDir(workDir string) (string, error) {
	// tmp/ holds the bundles: like /tmp it must be searchable by the ids a
	// user namespace maps root to, or the runtime cannot reach the rootfs.
	for _, dir := range []string{"tmp", "state"} {
		if err := os.Mkdir(filepath.Join(workDir, dir), 0o755); err != nil {
			return "", fmt.Errorf("make %s: %w", dir, err)
		}
	}
	for _, file := range []string{"runtimetest", "rootfs-amd64.tar.gz"} {
		if err := copyFile(filepath.Join(s.binDir, file), filepath.Join(workDir, file)); err != nil {
			return "", err
		}
	}
	wrapper := filepath.Join(workDir, "runtime")
	args := append([]string{s.runtime}, s.runtimeArg...)
	args = append(args, "--root", filepath.Join(workDir, "state"))
	quoted := make([]string, len(args))
	for i, arg := range args {
		quoted[i] = shellQuote(arg)
	}
	script := "#!/bin/sh\nexec " + strings.Join(quoted, " ") + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		return "", fmt.Errorf("write runtime wrapper: %w", err)
	}
	return wrapper, nil
}

// execute runs the program in a private mount namespace (Go makes "/"
// recursively private right after the unshare), because the
// rootfsPropagation tests would otherwise leave mounts in the caller's
// namespace. Bundles go to the work dir's tmp/ through TMPDIR.
func (s suite) execute(ctx context.Context, name, workDir, wrapper string) execution {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(s.binDir, "validation", name))
	cmd.Dir = workDir
	cmd.Env = append(os.Environ(), "RUNTIME="+wrapper, "TMPDIR="+filepath.Join(workDir, "tmp"))
	cmd.Stdin = nil
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Setpgid: true}
	// Kill the whole process group: the program's runtime children would
	// otherwise keep the output pipes open after a timeout.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second

	err := cmd.Run()
	// ExitCode is -1 for a nil ProcessState (never started) or a signal.
	run := execution{stdout: stdout.Bytes(), stderr: stderr.Bytes(), exitCode: cmd.ProcessState.ExitCode()}
	run.timedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) && !run.timedOut && !errors.Is(err, exec.ErrWaitDelay) {
		run.startErr = err
	}
	return run
}

// cleanupContainers force-deletes whatever the program left in its private
// state root, so that no container outlives its test. It returns a log of
// what it did.
func cleanupContainers(wrapper string) string {
	if wrapper == "" {
		return ""
	}
	// A hung runtime must not hang the suite.
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, wrapper, "list", "-q").Output()
	if err != nil {
		return fmt.Sprintf("cleanup: list containers: %v\n", err)
	}
	var log strings.Builder
	for _, id := range strings.Fields(string(out)) {
		deleteOut, err := exec.CommandContext(ctx, wrapper, "delete", "-f", id).CombinedOutput()
		fmt.Fprintf(&log, "cleanup: delete -f %s: err=%v %s\n", id, err, strings.TrimSpace(string(deleteOut)))
	}
	return log.String()
}

func (s suite) writeLog(name, wrapper string, run execution, res result, cleanupLog string) error {
	var log bytes.Buffer
	fmt.Fprintf(&log, "program:  %s\nruntime:  %s %s\nwrapper:  %s\n", name, s.runtime, strings.Join(s.runtimeArg, " "), wrapper)
	fmt.Fprintf(&log, "verdict:  %s %s\nexit:     %d (timed out: %v)\nduration: %s\n",
		res.verdict, res.detail, run.exitCode, run.timedOut, res.duration.Round(time.Millisecond))
	if run.startErr != nil {
		fmt.Fprintf(&log, "error:    %v\n", run.startErr)
	}
	fmt.Fprintf(&log, "\n--- stdout ---\n%s\n--- stderr ---\n%s\n", run.stdout, run.stderr)
	if cleanupLog != "" {
		fmt.Fprintf(&log, "--- cleanup ---\n%s", cleanupLog)
	}
	path := filepath.Join(s.logDir, name+".log")
	if err := os.WriteFile(path, log.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write log %s: %w", path, err)
	}
	return nil
}

// makeSearchableTempDir is os.MkdirTemp with mode 0755 instead of 0700,
// for directories on the path to a bundle (see prepareWorkDir).
func makeSearchableTempDir(parent, pattern string) (string, error) {
	dir, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		return "", fmt.Errorf("make temp dir: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", fmt.Errorf("chmod %s: %w", dir, err)
	}
	return dir, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", src, err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, info.Mode().Perm())
	if err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("close %s: %w", dst, err)
	}
	return nil
}

func shellQuote(arg string) string {
	return "'" + strings.ReplaceAll(arg, "'", `'\''`) + "'"
}
