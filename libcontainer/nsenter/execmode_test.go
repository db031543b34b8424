package nsenter

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// execModeRun is the outcome of the test binary started in exec mode.
type execModeRun struct {
	code           int
	stdout, stderr string
}

// runExecMode starts the test binary with env and args; in exec mode the
// constructor execs args[0] (with args[1:] as its argv) before any Go
// code runs. nsFiles become fds 3, 4, ...
func runExecMode(t *testing.T, env []string, nsFiles []*os.File, args ...string) execModeRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "HUSK_EXEC_TEST=kept"), env...)
	cmd.ExtraFiles = nsFiles
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	timer := time.AfterFunc(20*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	run := execModeRun{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		run.code = exitErr.ExitCode()
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("exec mode process killed by %v; stderr %q", ws.Signal(), run.stderr)
		}
	case err != nil:
		t.Fatalf("wait: %v", err)
	}
	return run
}

func TestExecModeJoinsAndExecs(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	holder := startHolder(t, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWUTS})
	netns, netLink := openNamespace(t, holder, "net")
	utsns, utsLink := openNamespace(t, holder, "uts")
	env := (&Request{SyncFD: -1, JoinFDs: []int{3, 4}, Exec: true}).Env()
	nsFiles := []*os.File{netns, utsns}

	for _, tc := range []struct {
		applet string
		code   int
	}{{"true", 0}, {"false", 1}} {
		run := runExecMode(t, env, nsFiles, busyboxPath, "busybox", tc.applet)
		if run.code != tc.code || run.stdout != "" || run.stderr != "" {
			t.Errorf("busybox %s: exit %d, stdout %q, stderr %q; want exit %d and no output",
				tc.applet, run.code, run.stdout, run.stderr, tc.code)
		}
	}

	script := "readlink /proc/self/ns/net; readlink /proc/self/ns/uts; env"
	run := runExecMode(t, env, nsFiles, busyboxPath, "sh", "-c", script)
	if run.code != 0 {
		t.Fatalf("exit %d, stderr %q", run.code, run.stderr)
	}
	if !strings.HasPrefix(run.stdout, netLink+"\n"+utsLink+"\n") {
		t.Errorf("program ran in %q, want the joined %s and %s", run.stdout, netLink, utsLink)
	}
	if strings.Contains(run.stdout, "_HUSK_") || !strings.Contains(run.stdout, "\nHUSK_EXEC_TEST=kept\n") {
		t.Errorf("environment should lose every _HUSK_ variable and keep the rest:\n%s", run.stdout)
	}
}

// With a fork the intermediate passes the exit status on: the code, or
// 128+n for death by signal n.
func TestExecModeForkWaits(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	newPID := (&Request{SyncFD: -1, Unshare: unix.CLONE_NEWPID, Fork: true, Exec: true}).Env()
	run := runExecMode(t, newPID, nil, busyboxPath, "sh", "-c", "echo pid=$$; exit 7")
	if run.code != 7 || run.stdout != "pid=1\n" {
		t.Errorf("new pid namespace: exit %d, stdout %q, stderr %q; want 7 and \"pid=1\\n\"", run.code, run.stdout, run.stderr)
	}
	// Outside a new pid namespace, so that the shell is not a namespace
	// init, which ignores SIGKILL from inside.
	forkOnly := (&Request{SyncFD: -1, Fork: true, Exec: true}).Env()
	run = runExecMode(t, forkOnly, nil, busyboxPath, "sh", "-c", "kill -9 $$")
	if run.code != 128+int(unix.SIGKILL) {
		t.Errorf("killed program: exit %d, stderr %q; want %d", run.code, run.stderr, 128+int(unix.SIGKILL))
	}
}

// Exec mode reports its own failures as text on stderr with status 127.
func TestExecModeErrors(t *testing.T) {
	requireRoot(t)
	execMode := (&Request{SyncFD: -1, Exec: true}).Env()
	for _, tc := range []struct {
		name   string
		env    []string
		args   []string
		stderr string
	}{
		{"missing program", execMode, []string{"/nonexistent", "x"},
			"husk: nsenter: exec /nonexistent: No such file or directory\n"},
		{"no program", execMode, nil,
			"husk: nsenter: _HUSK_EXEC needs the program as argv[1]\n"},
		{"bad namespace fd", append([]string{EnvSetns + "=99"}, execMode...), []string{busyboxPath, "true"},
			"husk: nsenter: namespace type of fd 99: Bad file descriptor\n"},
		{"exec not 1", []string{EnvBootstrap + "=1", EnvExec + "=yes"}, []string{busyboxPath, "true"},
			"husk: nsenter: invalid _HUSK_EXEC \"yes\"\n"},
		{"also an init", append([]string{EnvInitSync + "=3"}, execMode...), []string{busyboxPath, "true"},
			"husk: nsenter: _HUSK_EXEC and _HUSK_INITSYNC exclude each other\n"},
	} {
		run := runExecMode(t, tc.env, nil, tc.args...)
		if run.code != 127 || run.stderr != tc.stderr || run.stdout != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 127 and %q", tc.name, run.code, run.stdout, run.stderr, tc.stderr)
		}
	}
}
