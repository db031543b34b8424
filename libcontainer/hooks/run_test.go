package hooks

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/huskrt/husk/libcontainer/configs"
)

const testState = `{"ociVersion":"1.3.0","id":"c1","status":"creating","pid":42,"bundle":"/b"}`

func TestRunPassesArgsEnvStateExactly(t *testing.T) {
	probe := newProbe(t)
	reportPath := filepath.Join(t.TempDir(), "report.json")
	// Keep fds of ours open, one close-on-exec (as Go opens everything)
	// and one not (as if inherited from a careless parent): the hook must
	// see neither.
	held, err := os.Open(probe)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	inheritable, err := unix.Dup(int(held.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(inheritable)

	args := []string{"custom-argv0", probeName, reportPath, "two words", ""}
	// Without containermaxprocs=0 the probe's Go runtime keeps its cgroup
	// CPU files open, which would look like leaked fds.
	env := []string{"A=1", "B=with space", "EMPTY=", "GODEBUG=containermaxprocs=0"}
	err = Run("prestart", []configs.Hook{{Path: probe, Args: args, Env: env}}, []byte(testState))
	if err != nil {
		t.Fatal(err)
	}
	report := readReport(t, reportPath)
	if !reflect.DeepEqual(report.Args, args) {
		t.Errorf("hook argv = %q, want %q", report.Args, args)
	}
	if !reflect.DeepEqual(report.Env, env) {
		t.Errorf("hook env = %q, want %q", report.Env, env)
	}
	if report.Stdin != testState {
		t.Errorf("hook stdin = %q, want %q", report.Stdin, testState)
	}
	if want := []int{0, 1, 2}; !reflect.DeepEqual(report.FDs, want) {
		t.Errorf("hook fds = %v, want %v (we held fds %d and %d)", report.FDs, want, held.Fd(), inheritable)
	}
}

func TestRunWithoutArgsOrEnv(t *testing.T) {
	probe := newProbe(t)
	if err := Run("poststop", []configs.Hook{{Path: probe}}, []byte(testState)); err != nil {
		t.Fatal(err)
	}
	report := readReport(t, filepath.Join(filepath.Dir(probe), "report.json"))
	if want := []string{probe}; !reflect.DeepEqual(report.Args, want) {
		t.Errorf("hook argv = %q, want %q", report.Args, want)
	}
	if len(report.Env) != 0 {
		t.Errorf("hook env = %q, want empty", report.Env)
	}
}

// writeScript writes an executable /bin/sh script and returns its path.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func requireSh(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skipf("needs /bin/sh for script hooks: %v", err)
	}
}

func TestRunInOrderEachWithState(t *testing.T) {
	requireSh(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	// $1 names the hook; it appends its name and saves its stdin.
	script := writeScript(t, dir, "record", `echo "$1" >> "$2" && cat > "$2.$1"`)
	var hooks []configs.Hook
	for _, name := range []string{"first", "second", "third"} {
		hooks = append(hooks, configs.Hook{Path: script, Args: []string{"record", name, log}})
	}
	if err := Run("createRuntime", hooks, []byte(testState)); err != nil {
		t.Fatal(err)
	}
	order, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(order), "first\nsecond\nthird\n"; got != want {
		t.Errorf("hooks ran as %q, want %q", got, want)
	}
	for _, name := range []string{"first", "second", "third"} {
		stdin, err := os.ReadFile(log + "." + name)
		if err != nil {
			t.Fatal(err)
		}
		if string(stdin) != testState {
			t.Errorf("hook %s read %q, want the state", name, stdin)
		}
	}
}

func TestRunStopsAtFirstFailure(t *testing.T) {
	requireSh(t)
	dir := t.TempDir()
	ok := writeScript(t, dir, "ok", "exit 0\n")
	fail := writeScript(t, dir, "fail", "echo progress\necho 'first line' >&2\necho 'bad thing' >&2\nexit 3\n")
	marker := filepath.Join(dir, "ran")
	after := writeScript(t, dir, "after", "touch "+marker+"\n")

	err := Run("prestart", []configs.Hook{{Path: ok}, {Path: fail}, {Path: after}}, []byte(testState))
	want := "prestart hook #1 (" + fail + "): exit status 3: first line\nbad thing (stdout: progress)"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
		t.Errorf("error does not wrap an exit status 3: %#v", err)
	}
	if _, statErr := os.Stat(marker); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("hook after the failing one ran (stat: %v)", statErr)
	}
}

func TestRunKeepsOnlyOutputTail(t *testing.T) {
	requireSh(t)
	dir := t.TempDir()
	// About 100 KiB of noise, then the line that explains the failure.
	noisy := writeScript(t, dir, "noisy", `i=0
while [ $i -lt 2000 ]; do echo "noise noise noise noise noise noise noise noise noise noise" >&2; i=$((i+1)); done
echo "the real reason" >&2
exit 1
`)
	err := Run("startContainer", []configs.Hook{{Path: noisy}}, nil)
	if err == nil {
		t.Fatal("noisy failing hook succeeded")
	}
	msg := err.Error()
	if !strings.HasSuffix(msg, "the real reason") || !strings.Contains(msg, "exit status 1: ...") {
		t.Errorf("error does not end with the stderr tail: %.200q...", msg)
	}
	if len(msg) > 2*outputLimit {
		t.Errorf("error is %d bytes, want at most %d", len(msg), 2*outputLimit)
	}
}

// processGone reports whether pid no longer runs: absent, or a zombie
// waiting for its (new) parent to reap it.
func processGone(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the ")" that ends the command name.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
}

func TestRunTimeoutKillsHookAndChildren(t *testing.T) {
	requireSh(t)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pids")
	slow := writeScript(t, dir, "slow", `sleep 30 &
echo "$$ $!" > `+pidFile+`
wait
`)
	ok := writeScript(t, dir, "ok", "exit 0\n")
	marker := filepath.Join(dir, "ran")
	after := writeScript(t, dir, "after", "touch "+marker+"\n")
	one, plenty := 1, 60
	hooks := []configs.Hook{{Path: ok, Timeout: &plenty}, {Path: slow, Timeout: &one}, {Path: after}}

	err := Run("createRuntime", hooks, []byte(testState))
	want := "createRuntime hook #1 (" + slow + "): timed out after 1s"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error does not wrap context.DeadlineExceeded: %#v", err)
	}
	if _, statErr := os.Stat(marker); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("hook after the timed-out one ran (stat: %v)", statErr)
	}
	data, readErr := os.ReadFile(pidFile)
	if readErr != nil {
		t.Fatalf("slow hook did not record its pids: %v", readErr)
	}
	for _, field := range strings.Fields(string(data)) {
		pid, convErr := strconv.Atoi(field)
		if convErr != nil {
			t.Fatal(convErr)
		}
		// SIGKILL is delivered but the death of the orphaned sleep is
		// asynchronous; allow it a moment.
		deadline := time.Now().Add(5 * time.Second)
		for !processGone(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if !processGone(pid) {
			t.Errorf("process %d of the timed-out hook still runs", pid)
		}
	}
}

func TestRunRejectsBadHooks(t *testing.T) {
	requireSh(t)
	dir := t.TempDir()
	ok := writeScript(t, dir, "ok", "exit 0\n")
	zero := 0
	tests := []struct {
		name string
		hook configs.Hook
		want string
	}{
		{"relative path", configs.Hook{Path: "ok"}, "poststart hook #0 (ok): path is not absolute"},
		{"zero timeout", configs.Hook{Path: ok, Timeout: &zero}, "poststart hook #0 (" + ok + "): invalid timeout 0: must be more than 0 seconds"},
		{"missing program", configs.Hook{Path: ok + ".missing"}, "poststart hook #0 (" + ok + ".missing): fork/exec " + ok + ".missing: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Run("poststart", []configs.Hook{tt.hook}, nil)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRunNoHooks(t *testing.T) {
	if err := Run("prestart", nil, []byte(testState)); err != nil {
		t.Errorf("Run with no hooks: %v", err)
	}
}

func TestRunAllContinuesAfterFailure(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	hooks := []configs.Hook{
		{Path: "/bin/sh", Args: []string{"sh", "-c", "exit 3"}},
		{Path: "/bin/sh", Args: []string{"sh", "-c", "echo second >> " + out}},
		{Path: "/bin/sh", Args: []string{"sh", "-c", "exit 4"}},
	}
	errs := RunAll("poststop", hooks, []byte(`{}`), nil)
	if len(errs) != 2 {
		t.Fatalf("got %d errors (%v), want 2", len(errs), errs)
	}
	if !strings.Contains(errs[0].Error(), "poststop hook #0") || !strings.Contains(errs[1].Error(), "poststop hook #2") {
		t.Fatalf("errors do not name the failing hooks: %v", errs)
	}
	data, err := os.ReadFile(out)
	if err != nil || string(data) != "second\n" {
		t.Fatalf("the hook after the failing one did not run: %q, %v", data, err)
	}
}
