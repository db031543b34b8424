package nsenter

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// busyboxPath is the program the tests have the C program exec; it must
// be static, since the init tests run it chrooted into a rootfs that
// holds nothing else.
const busyboxPath = "/bin/busybox"

// programOptions say how to start the embedded C program (husk-init).
type programOptions struct {
	// args are argv[1:]; argv[0] is "husk-init".
	args []string
	// env is added to the test's own environment.
	env []string
	// files become fds 3, 4, ... (or 4, 5, ... with syncSocket).
	files []*os.File
	attr  *syscall.SysProcAttr
	// chroot, if set, is the root the program runs in: the child chroots
	// before its exec and reaches the memfd through a path relative to
	// its cwd, which stays outside the new root.
	chroot         string
	stdout, stderr io.Writer
	// passProgram passes the program as the fd after files, execs it as
	// /proc/self/fd/N of the child and names N in EnvProgramFD, as husk
	// does; otherwise it is exec'd from a close-on-exec fd of ours.
	passProgram bool
}

// startProgram starts the embedded program as husk does: from a sealed
// memfd, exec'd as /proc/self/fd/N. The process is killed and reaped when
// the test ends, unless the test waited for it.
func startProgram(t *testing.T, opts programOptions) *exec.Cmd {
	t.Helper()
	sealed, err := SealedInit()
	if err != nil {
		t.Fatalf("%v (make libcontainer/nsenter/cinit/bin/husk-init)", err)
	}
	defer sealed.Close()
	execFD := execFDAboveChildFDs(t, sealed)
	defer unix.Close(execFD)
	path := fmt.Sprintf("/proc/self/fd/%d", execFD)
	files, env := opts.files, append(os.Environ(), opts.env...)
	if opts.passProgram {
		files = append(slices.Clone(files), sealed)
		path = fmt.Sprintf("/proc/self/fd/%d", 3+len(files)-1)
		env = append(env, fmt.Sprintf("%s=%d", EnvProgramFD, 3+len(files)-1))
	}
	attr := opts.attr
	if opts.chroot != "" {
		path = pathFromCwd(t, path)
		withRoot := syscall.SysProcAttr{}
		if attr != nil {
			withRoot = *attr
		}
		withRoot.Chroot = opts.chroot
		attr = &withRoot
	}
	cmd := &exec.Cmd{
		Path:        path,
		Args:        append([]string{"husk-init"}, opts.args...),
		Env:         env,
		ExtraFiles:  files,
		SysProcAttr: attr,
		Stdout:      opts.stdout,
		Stderr:      opts.stderr,
		// A forked grandchild may keep stdout open; never wait forever.
		WaitDelay: 10 * time.Second,
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the C program: %v", err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// execFDAboveChildFDs dups the memfd (close-on-exec) to a number the
// child's fd shuffling cannot reach. Before its exec, the child moves its
// error pipe and any fd that is in the way to the numbers just above the
// highest fd it is given (forkAndExecInChild in syscall/exec_linux.go),
// which would replace whatever the path /proc/self/fd/N names there. The
// pipes exec.Cmd makes for stdio, the error pipe, the uid map pipe and
// those moves take far fewer than 64 numbers.
func execFDAboveChildFDs(t *testing.T, f *os.File) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	highest := 0
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > highest {
			highest = n
		}
	}
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, highest+64)
	if err != nil {
		t.Fatalf("dup the sealed program: %v", err)
	}
	return fd
}

// pathFromCwd turns an absolute path into one relative to the cwd: the
// kernel resolves ".." from a cwd outside a chroot up to the real root,
// so the child reaches the host's /proc from inside an empty root.
func pathFromCwd(t *testing.T, path string) string {
	t.Helper()
	cwd, err := unix.Getwd() // the kernel's, free of symlinks
	if err != nil {
		t.Fatal(err)
	}
	return strings.Repeat("../", strings.Count(cwd, "/")) + strings.TrimPrefix(path, "/")
}

// waitProgram waits for cmd (killing it after 20s) and returns its exit
// code. A death by signal fails the test: the program never dies by one.
func waitProgram(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	timer := time.AfterFunc(20*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("the C program was killed by %v", ws.Signal())
		}
		return exitErr.ExitCode()
	}
	if err != nil {
		t.Fatalf("wait for the C program: %v", err)
	}
	return 0
}

// programRun is the outcome of runProgram.
type programRun struct {
	code           int
	stdout, stderr string
	// sync is everything the program wrote to the sync socket (fd 3).
	sync string
}

// runProgram runs the program to its end with fd 3 a socket (the sync
// socket, if the environment names it) and opts.files as fds 4, 5, ...
func runProgram(t *testing.T, opts programOptions) programRun {
	t.Helper()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	// Non-blocking so os.NewFile makes it pollable and deadlines work.
	if err := unix.SetNonblock(pair[0], true); err != nil {
		t.Fatal(err)
	}
	syncParent := os.NewFile(uintptr(pair[0]), "sync-parent")
	defer syncParent.Close()
	syncChild := os.NewFile(uintptr(pair[1]), "sync-child")
	var stdout, stderr bytes.Buffer
	opts.stdout, opts.stderr = &stdout, &stderr
	opts.files = append([]*os.File{syncChild}, opts.files...)
	cmd := startProgram(t, opts)
	syncChild.Close()
	run := programRun{code: waitProgram(t, cmd), stdout: stdout.String(), stderr: stderr.String()}
	// A forked child may still hold the socket; never wait for it long.
	if err := syncParent.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var sync bytes.Buffer
	if _, err := sync.ReadFrom(syncParent); err != nil {
		t.Fatalf("read sync socket: %v", err)
	}
	run.sync = sync.String()
	return run
}

// TestProgramRefusesHandRun: the program is an init or an exec mode
// bootstrap, nothing else; started otherwise it says so and exits 1,
// before the bootstrap does anything it is asked for: no FrameError about
// a bad namespace fd, no fork that would report a pid and exit 0.
func TestProgramRefusesHandRun(t *testing.T) {
	const usage = "husk-init: this program is run by husk, not by hand\n"
	const byHand = "husk init: must be started by husk, not by hand\n"
	for _, tc := range []struct {
		name   string
		env    []string
		stderr string
	}{
		{"nothing set", nil, usage},
		{"exec mode without bootstrap", []string{EnvExec + "=1"}, usage},
		{"exec mode with bootstrap 0", []string{EnvBootstrap + "=0", EnvExec + "=1"}, usage},
		{"bootstrap only", []string{EnvBootstrap + "=1", EnvSyncFD + "=3"}, usage},
		{"bootstrap that would fork", []string{EnvBootstrap + "=1", EnvSyncFD + "=3", EnvFork + "=1"}, usage},
		{"bootstrap that would fail", []string{EnvBootstrap + "=1", EnvSyncFD + "=3", EnvSetns + "=99"}, usage},
		{"exec credentials without exec mode", []string{EnvBootstrap + "=1", EnvSyncFD + "=3", EnvExecCreds + "=x"}, usage},
		{"init on stderr", []string{EnvInitSync + "=2"}, byHand},
		{"init fd not a number", []string{EnvInitSync + "=x"}, byHand},
		{"init fd empty", []string{EnvInitSync + "="}, byHand},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := runProgram(t, programOptions{env: tc.env, args: []string{busyboxPath, "echo", "ran"}})
			if run.code != 1 || run.stderr != tc.stderr || run.stdout != "" || run.sync != "" {
				t.Errorf("exit %d, stdout %q, stderr %q, sync %q; want exit 1 and stderr %q",
					run.code, run.stdout, run.stderr, run.sync, tc.stderr)
			}
		})
	}
}

// shellReport runs script with busybox sh in exec mode after the bootstrap
// req asks for (its JoinFDs are opts.files' numbers: 4, 5, ...), and
// returns the run and its "key=value" output lines, grouped by key.
func shellReport(t *testing.T, req Request, opts programOptions, script string) (programRun, map[string][]string) {
	t.Helper()
	req.Exec = true
	opts.env = append(opts.env, req.Env()...)
	opts.args = []string{busyboxPath, "sh", "-c", script}
	run := runProgram(t, opts)
	report := map[string][]string{}
	for _, line := range strings.Split(run.stdout, "\n") {
		if key, value, ok := strings.Cut(line, "="); ok {
			report[key] = append(report[key], value)
		}
	}
	return run, report
}

// reportScript prints what the bootstrap left the exec'd program with.
// /proc is the host's, where $$ may name another process (in a new pid
// namespace it is 1), so it looks at /proc/self: the commands the shell
// runs share its namespaces and inherit its fds. ls -l shows their
// targets: a namespace fd still open would show as "-> net:[...]"; its
// complaint about the fd of the directory it reads, gone by the time it
// reads the link, is part of the listing.
const reportScript = `for ns in net mnt user uts pid time; do echo ns.$ns=$(readlink /proc/self/ns/$ns); done
echo uid=$(id -u)
echo gid=$(id -g)
echo pid=$$
env | sed -n 's/^_HUSK_/env=&/p'
ls -l /proc/self/fd/ 2>&1 | sed 's/^/fd=/'
if [ -e /proc/self/timens_offsets ]; then sed 's/^/timens=/' /proc/self/timens_offsets; fi
`

// checkCleanExec checks what every exec'd program must see: no _HUSK_
// variable and no fd of a joined namespace.
func checkCleanExec(t *testing.T, run programRun, report map[string][]string, joined ...string) {
	t.Helper()
	if run.code != 0 || run.stderr != "" {
		t.Fatalf("exit %d, stderr %q, stdout %q; want 0 and no errors", run.code, run.stderr, run.stdout)
	}
	if env := report["env"]; len(env) != 0 {
		t.Errorf("the exec'd program still sees %q; the bootstrap must unset them", env)
	}
	if len(report["fd"]) == 0 {
		t.Fatalf("no fd listing in the output:\n%s", run.stdout)
	}
	for _, line := range report["fd"] {
		for _, link := range joined {
			if strings.HasSuffix(line, "-> "+link) {
				t.Errorf("the namespace fd %s was not closed after setns: %q", link, line)
			}
		}
	}
}

// one returns the only value of key in a report, failing the test if
// there is not exactly one.
func one(t *testing.T, report map[string][]string, key string) string {
	t.Helper()
	if len(report[key]) != 1 {
		t.Fatalf("report has %q for %s, want one value", report[key], key)
	}
	return report[key][0]
}

// requireStaticBusybox skips when the program the tests run is missing.
func requireStaticBusybox(t *testing.T) {
	t.Helper()
	f, err := elf.Open(busyboxPath)
	if err != nil {
		t.Skipf("needs a static %s (busybox-static): %v", busyboxPath, err)
	}
	defer f.Close()
	if slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP }) {
		t.Skipf("%s is dynamically linked; the tests chroot it without its libraries", busyboxPath)
	}
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create and join namespaces")
	}
}

// TestProgramClosesItsFd: exec'd from an inherited fd, the program closes
// it before anything else, so neither what exec mode runs nor the init
// keeps it (it would show as /proc/<pid>/fd/N -> /memfd:husk-init).
func TestProgramClosesItsFd(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	req := Request{SyncFD: -1, Exec: true}
	script := `ls -l /proc/self/fd/ 2>&1; env | grep -c _HUSK_`
	run := runProgram(t, programOptions{env: req.Env(), args: []string{busyboxPath, "sh", "-c", script}, passProgram: true})
	// grep -c finds nothing: it prints 0 and exits 1.
	if run.code != 1 || !strings.HasSuffix(run.stdout, "\n0\n") || strings.Contains(run.stdout, "husk-init") {
		t.Errorf("exec mode: exit %d, stderr %q, stdout:\n%s\nwant no memfd:husk-init among the fds and no _HUSK_ variable", run.code, run.stderr, run.stdout)
	}

	p := startInit(t, initOptions{passProgram: true})
	if err := p.conn.WaitStarted(); err != nil {
		t.Fatalf("WaitStarted: %v (stderr %q)", err, p.stderr.String())
	}
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", p.pid, e.Name())); strings.Contains(link, "husk-init") {
			t.Errorf("the init still has the program open as fd %s", e.Name())
		}
	}

	for _, fd := range []string{"2", "x", "99"} {
		env := append(req.Env(), EnvProgramFD+"="+fd)
		run := runProgram(t, programOptions{env: env, args: []string{busyboxPath, "echo", "ran"}})
		if want := "husk-init: invalid _HUSK_PROGRAM_FD\n"; run.code != 127 || run.stderr != want || run.stdout != "" {
			t.Errorf("%s=%s: exit %d, stdout %q, stderr %q; want 127 and %q", EnvProgramFD, fd, run.code, run.stdout, run.stderr, want)
		}
	}
}
