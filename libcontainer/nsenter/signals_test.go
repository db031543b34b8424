package nsenter

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// caughtByInit is the SigCgt mask of an init: every signal whose default
// action ends a process, 1-31 and the real-time ones musl does not keep
// for itself (35-64).
func caughtByInit() uint64 {
	notEnding := map[int]bool{
		int(unix.SIGKILL): true, int(unix.SIGSTOP): true, int(unix.SIGCHLD): true, int(unix.SIGCONT): true,
		int(unix.SIGURG): true, int(unix.SIGWINCH): true, int(unix.SIGTSTP): true, int(unix.SIGTTIN): true,
		int(unix.SIGTTOU): true,
	}
	var mask uint64
	for sig := 1; sig <= 64; sig++ {
		if (sig < 32 && !notEnding[sig]) || sig >= 35 {
			mask |= 1 << (sig - 1)
		}
	}
	return mask
}

// signalMasks returns the Sig* lines of a /proc/<pid>/status.
func signalMasks(t *testing.T, status string) map[string]string {
	t.Helper()
	masks := map[string]string{}
	for key, value := range statusFields(status) {
		if strings.HasPrefix(key, "Sig") {
			masks[key] = value
		}
	}
	if len(masks) == 0 {
		t.Fatalf("no Sig* lines in status:\n%s", status)
	}
	return masks
}

func readStatus(t *testing.T, pid int) string {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	return string(status)
}

// exitAfterSignal waits up to 5s for cmd to exit and returns its exit
// code; if it does not, it kills it and fails the test.
func exitAfterSignal(t *testing.T, cmd *exec.Cmd, sig syscall.Signal) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("init still runs 5s after %v", sig)
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("init was killed by %v, want an exit status", ws.Signal())
		}
		return exitErr.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// TestInitEndsOnSignals: pid 1 of a pid namespace gets no default action
// for signals, so init catches those whose default ends a process and
// exits 128+n, both while it serves requests and while it waits on
// exec.fifo (a created container that `husk kill` must be able to stop).
func TestInitEndsOnSignals(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	for _, tc := range []struct {
		name    string
		sig     syscall.Signal
		created bool
	}{
		{"serving requests, SIGTERM", unix.SIGTERM, false},
		{"serving requests, SIGUSR1", unix.SIGUSR1, false},
		{"serving requests, real-time signal", syscall.Signal(40), false},
		{"created, SIGTERM", unix.SIGTERM, true},
		{"created, SIGHUP", unix.SIGHUP, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startInit(t, initOptions{attr: privateNamespaces()})
			if err := p.conn.WaitStarted(); err != nil {
				t.Fatal(err)
			}
			if !tc.created {
				want := fmt.Sprintf("%016x", caughtByInit())
				if got := signalMasks(t, readStatus(t, p.pid))["SigCgt"]; got != want {
					t.Errorf("init catches %s, want %s", got, want)
				}
			} else {
				dir, rootfs := makeRootfs(t)
				_, fifo := makeFifo(t, dir)
				if err := p.conn.Exec(basePlan(t, p, rootfs, fifo)); err != nil {
					t.Fatalf("Exec: %v", err)
				}
			}
			if err := unix.Kill(p.pid, tc.sig); err != nil {
				t.Fatal(err)
			}
			if code := exitAfterSignal(t, p.cmd, tc.sig); code != 128+int(tc.sig) {
				t.Errorf("init exited %d after %v, want %d; stderr %q", code, tc.sig, 128+int(tc.sig), p.stderr.String())
			}
		})
	}
}

// TestWorkloadStartsWithDefaultSignals: execve resets what init caught, so
// the workload catches nothing and blocks nothing, and ignores only what
// the test process does (ignored signals survive an exec).
func TestWorkloadStartsWithDefaultSignals(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	dir, rootfs := makeRootfs(t)
	fifoPath, fifo := makeFifo(t, dir)
	p := startInit(t, initOptions{attr: privateNamespaces()})
	requirePrivateMounts(t, p.pid)
	proc := openPath(t, p.inInit(rootfs+"/proc"))
	if err := p.conn.Mount("proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "", proc); err != nil {
		t.Fatalf("mount proc: %v", err)
	}
	if got := signalMasks(t, readStatus(t, p.pid))["SigCgt"]; got == "0000000000000000" {
		t.Error("init catches no signal")
	}
	plan := basePlan(t, p, rootfs, fifo)
	plan.Args = []string{busyboxPath, "cat", "/proc/self/status"}
	if err := p.conn.Exec(plan); err != nil {
		t.Fatalf("Exec: %v", err)
	}
	releaseInit(t, fifoPath)
	if code := p.wait(t); code != 0 {
		t.Fatalf("workload exited %d, stderr %q", code, p.stderr.String())
	}
	got := signalMasks(t, p.stdout.String())
	ours := signalMasks(t, readStatus(t, os.Getpid()))
	for key, want := range map[string]string{"SigCgt": "0000000000000000", "SigBlk": "0000000000000000", "SigIgn": ours["SigIgn"]} {
		if got[key] != want {
			t.Errorf("workload's %s is %s, want %s", key, got[key], want)
		}
	}
}
