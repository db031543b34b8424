package nsenter

import (
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// runExecMode runs the program in exec mode with env (Request.Env()) and
// args (argv[1:]: the program to exec and its argv); nsFiles become fds 4,
// 5, ... (fd 3 is a socket). A variable without the _HUSK_ prefix shows
// that the rest of the environment is passed on.
func runExecMode(t *testing.T, env []string, nsFiles []*os.File, args ...string) programRun {
	t.Helper()
	return runProgram(t, programOptions{env: append([]string{"HUSK_EXEC_TEST=kept"}, env...), files: nsFiles, args: args})
}

func TestExecModeJoinsAndExecs(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	holder := startHolder(t, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWUTS})
	netns, netLink := openNamespace(t, holder, "net")
	utsns, utsLink := openNamespace(t, holder, "uts")
	env := (&Request{SyncFD: -1, JoinFDs: []int{4, 5}, Exec: true}).Env()
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
	// argv[1] alone: it is also the program's argv[0].
	run = runExecMode(t, env, nsFiles, busyboxPath)
	if run.code != 0 || !strings.Contains(run.stdout, "BusyBox") {
		t.Errorf("busybox without arguments: exit %d, stdout %q, stderr %q; want its help", run.code, run.stdout, run.stderr)
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

// TestExecModeDumpable: exec mode is not dumpable until it execs (its
// fds and root are the host's), the program it execs is again, and keeps
// its own name. Run as host uid 1000, /proc/<pid>/fd belongs to root
// when the process is not dumpable, to uid 1000 when it is. The forking
// intermediate never execs, so it shows the bootstrap's state.
func TestExecModeDumpable(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	script := `echo intermediate=$(stat -c %u /proc/$PPID/fd)
echo program=$(stat -c %u /proc/$$/fd)
echo comm=$(cat /proc/$$/comm)
`
	req := Request{SyncFD: -1, Fork: true}
	attr := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 1000, Gid: 1000, NoSetGroups: true}}
	run, report := shellReport(t, req, programOptions{attr: attr}, script)
	if run.code != 0 || run.stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", run.code, run.stdout, run.stderr)
	}
	if got := one(t, report, "intermediate"); got != "0" {
		t.Errorf("the intermediate's /proc/<pid>/fd belongs to uid %s, want 0 (not dumpable)", got)
	}
	if got := one(t, report, "program"); got != "1000" {
		t.Errorf("the exec'd program's /proc/<pid>/fd belongs to uid %s, want 1000 (dumpable)", got)
	}
	if got := one(t, report, "comm"); got == "husk:init" {
		t.Errorf("the exec'd program is named %q", got)
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
		{"sync fd invalid", append([]string{EnvSyncFD + "=x"}, execMode...), []string{busyboxPath, "true"},
			"husk: nsenter: _HUSK_SYNCFD is missing or invalid\n"},
	} {
		run := runExecMode(t, tc.env, nil, tc.args...)
		if run.code != 127 || run.stderr != tc.stderr || run.stdout != "" || run.sync != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q, sync %q; want 127 and %q",
				tc.name, run.code, run.stdout, run.stderr, run.sync, tc.stderr)
		}
	}
}
