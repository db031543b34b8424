package timerslack

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/huskrt/husk/internal/testutil"
	"golang.org/x/sys/unix"
)

func threadSlacks(t *testing.T) map[string]uint64 {
	t.Helper()
	names, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	slacks := map[string]uint64{}
	for _, e := range names {
		data, err := os.ReadFile("/proc/" + e.Name() + "/timerslack_ns")
		if os.IsNotExist(err) {
			continue // exited meanwhile
		}
		if err != nil {
			t.Fatal(err)
		}
		ns, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		slacks[e.Name()] = ns
	}
	return slacks
}

func requireCapSysNice(t *testing.T) {
	t.Helper()
	if !testutil.HasEffectiveCap(unix.CAP_SYS_NICE) {
		t.Skip("setting another thread's timer slack needs CAP_SYS_NICE, which this test process lacks")
	}
}

func TestRelaxSetsEveryThread(t *testing.T) {
	requireCapSysNice(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := Get()
	if err != nil {
		t.Fatal(err)
	}
	const relaxed = 1_234_567
	previous, err := Relax(relaxed)
	if err != nil {
		t.Fatal(err)
	}
	defer Relax(previous)
	if previous != before {
		t.Errorf("Relax returned %d, the thread had %d", previous, before)
	}
	for tid, ns := range threadSlacks(t) {
		if ns != relaxed {
			t.Errorf("thread %s has slack %d, want %d", tid, ns, relaxed)
		}
	}
	if _, err := Relax(0); err == nil {
		t.Error("Relax(0) succeeded")
	}
}

// TestDoGivesTheChildTheValue: a process started inside Do has the slack
// Do was given, not the relaxed one of the thread, and the thread gets its
// own back.
func TestDoGivesTheChildTheValue(t *testing.T) {
	requireCapSysNice(t)
	previous, err := Relax(2_000_000)
	if err != nil {
		t.Fatal(err)
	}
	defer Relax(previous)

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var out []byte
	err = Do(77_777, func() error {
		cmd := exec.Command("/bin/cat", "/proc/self/timerslack_ns")
		var runErr error
		out, runErr = cmd.Output()
		return runErr
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "77777" {
		t.Errorf("child's slack is %s, want 77777", got)
	}
	if ns, _ := Get(); ns != 2_000_000 {
		t.Errorf("after Do the thread's slack is %d, want 2000000 back", ns)
	}
	// Without Do a child inherits the relaxed value: the reason for Do.
	out, err = exec.Command("/bin/cat", "/proc/self/timerslack_ns").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "2000000" {
		t.Errorf("child started outside Do has slack %s, want the relaxed 2000000", got)
	}
}

func TestDoZeroChangesNothing(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, _ := Get()
	called := false
	if err := Do(0, func() error {
		called = true
		if ns, _ := Get(); ns != before {
			t.Errorf("Do(0) changed the slack to %d", ns)
		}
		return nil
	}); err != nil || !called {
		t.Fatalf("Do(0) = %v, called %v", err, called)
	}
}

// childEnv marks the re-executed test binary running in a new pid
// namespace under the parent's /proc.
const childEnv = "HUSK_TIMERSLACK_TEST_CHILD"

// TestRelaxRefusesAnotherPidNamespacesProc: in a new pid namespace whose
// /proc is still the outer one, the caller's thread ids name other
// processes there (pid 1 would be the host's init): Relax must refuse
// instead of writing their timer slack.
func TestRelaxRefusesAnotherPidNamespacesProc(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		requireCapSysNice(t)
		cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
			t.Fatalf("child test failed (%v):\n%s", err, out)
		}
		return
	}
	if os.Getpid() != 1 {
		t.Fatalf("the child is pid %d, not 1 of a new pid namespace", os.Getpid())
	}
	hostInit, _ := os.ReadFile("/proc/1/timerslack_ns")
	if _, err := Relax(3_000_000); err == nil || !strings.Contains(err.Error(), "another pid namespace") {
		t.Fatalf("Relax under the outer /proc: err = %v, want a refusal", err)
	}
	if now, _ := os.ReadFile("/proc/1/timerslack_ns"); string(now) != string(hostInit) {
		t.Fatalf("the outer pid 1's slack changed: %q -> %q", hostInit, now)
	}
}
