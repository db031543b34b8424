package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestRunExitCodePassthrough(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		want   int
	}{
		{"zero", "exit 0", 0},
		{"exit42", "exit 42", 42},
		{"exit255", "exit 255", 255},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			b := h.newBundle().shell(tc.script)
			r := h.run(b, cmdOpts{})
			if r.Exit != tc.want {
				t.Errorf("exit = %d, want %d: %v", r.Exit, tc.want, r)
			}
		})
	}
}

// TestRunKilledBySignal: a process killed by signal N makes run exit
// 128+N. Inside a pid namespace the init ignores signals it does not
// handle, even SIGKILL, when they come from inside; so the self-kill case
// shares the host pid namespace, and the namespaced case is killed from
// outside with `kill`.
func TestRunKilledBySignal(t *testing.T) {
	t.Run("self-kill-9", func(t *testing.T) {
		h := newHarness(t)
		b := h.newBundle().shell("kill -9 $$; sleep 5")
		b.dropNamespace(specs.PIDNamespace)
		if r := h.run(b, cmdOpts{}); r.Exit != 128+9 {
			t.Errorf("exit = %d, want 137: %v", r.Exit, r)
		}
	})
	t.Run("runtime-kill", func(t *testing.T) {
		h := newHarness(t)
		b := h.newBundle()
		out := h.bindDir(b, "out", "/out")
		b.shell("echo ready > /out/ready; exec sleep 1000")
		b.write(t)
		h.track(b.id)
		done := make(chan result, 1)
		go func() { done <- h.rt(cmdOpts{}, "run", "--bundle", b.dir, b.id) }()
		waitFile(t, filepath.Join(out, "ready"), 5*time.Second)
		h.rtOK(cmdOpts{}, "kill", b.id, "KILL")
		select {
		case r := <-done:
			if r.Exit != 128+9 {
				t.Errorf("run exit = %d, want 137: %v", r.Exit, r)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("run did not return after its container was killed")
		}
	})
}

// TestRunDeletesByDefault: after a foreground run the container is gone.
func TestRunDeletesByDefault(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	h.runOK(b)
	if _, r := h.state(b.id); r.Exit == 0 {
		t.Errorf("container %s still exists after run", b.id)
	}
}

// TestRunKeep: run --keep leaves the stopped container for the caller.
func TestRunKeep(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().shell("exit 3")
	if r := h.run(b, cmdOpts{}, "--keep"); r.Exit != 3 {
		t.Fatalf("run --keep: %v", r)
	}
	st := h.mustState(b.id)
	if st.Status != specs.StateStopped || st.Pid != 0 {
		t.Errorf("after run --keep: status %q pid %d, want stopped 0", st.Status, st.Pid)
	}
	h.rtOK(cmdOpts{}, "delete", b.id)
}

// TestRunDetached: run -d returns at once while the container keeps running.
func TestRunDetached(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	out := h.bindDir(b, "out", "/out")
	b.shell(`echo started > /out/started; exec sleep 1000`)
	r := h.run(b, cmdOpts{}, "-d")
	if r.Exit != 0 {
		t.Fatalf("run -d: %v", r)
	}
	if r.Duration > 10*time.Second {
		t.Errorf("run -d took %v: it waited for the container", r.Duration)
	}
	st := h.mustState(b.id)
	if st.Status != specs.StateRunning || !alive(st.Pid) {
		t.Fatalf("after run -d: status %q pid %d", st.Status, st.Pid)
	}
	waitFile(t, filepath.Join(out, "started"), 5*time.Second)
}

// TestRunOutputStreams: the container's stdout and stderr reach the
// caller's stdout and stderr, unmixed.
func TestRunOutputStreams(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().shell(`echo to-stdout; echo to-stderr >&2; echo more-stdout`)
	r := h.run(b, cmdOpts{})
	if r.Exit != 0 {
		t.Fatalf("run: %v", r)
	}
	if r.Stdout != "to-stdout\nmore-stdout\n" {
		t.Errorf("stdout = %q", r.Stdout)
	}
	if !strings.Contains(r.Stderr, "to-stderr\n") || strings.Contains(r.Stderr, "stdout") {
		t.Errorf("stderr = %q", r.Stderr)
	}
}

// TestRunStdin: the caller's stdin reaches the container's process.
func TestRunStdin(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	b.spec.Process.Args = []string{"cat"}
	input := "line one\nline two\n"
	r := h.run(b, cmdOpts{stdin: strings.NewReader(input)})
	if r.Exit != 0 {
		t.Fatalf("run: %v", r)
	}
	if r.Stdout != input {
		t.Errorf("cat echoed %q, want %q", r.Stdout, input)
	}
}

// TestRunCreatesAndStartsHooksInOrder is in hooks_test.go; here only the
// simplest observable: a process that reads its pid sees 1.
func TestRunInitIsPid1(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().shell(`echo $$`)
	if out := strings.TrimSpace(h.runOK(b)); out != "1" {
		t.Errorf("$$ = %q, want 1", out)
	}
}

// TestSignalDuringCreateReachesWorkload: a SIGTERM that reaches `run`
// while the container is still being created (a slow createRuntime hook
// here) is held and delivered to the workload once it runs, instead of
// killing the waiting init. Without a pid namespace the workload dies of
// it with the default action: exit 143.
func TestSignalDuringCreateReachesWorkload(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().dropNamespace(specs.PIDNamespace)
	b.spec.Process.Args = []string{"sleep", "30"}
	b.spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "sleep 1"}}}}
	b.write(t)
	h.track(b.id)
	cmd := exec.Command(h.runtime, "--root", h.root, "run", "--bundle", b.dir, b.id)
	cmd.Env = append(os.Environ(), h.marker)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if code := exitCode(cmd); code != 143 {
		t.Fatalf("run exit = %d (%v), want 143 (the workload killed by SIGTERM); stderr: %s", code, err, stderr.String())
	}
}
