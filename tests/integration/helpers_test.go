package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultTimeout bounds every command; a runtime that hangs fails the test
// instead of the whole run.
const defaultTimeout = 30 * time.Second

// result is what a finished command left: its output and exit status.
type result struct {
	Args   []string
	Stdout string
	Stderr string
	// Exit is the exit code, 128+N when killed by signal N, -1 when the
	// command could not be started or timed out.
	Exit     int
	Err      error
	Duration time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("%q: exit %d (err %v)\nstdout: %s\nstderr: %s", r.Args, r.Exit, r.Err, r.Stdout, r.Stderr)
}

// cmdOpts tunes one command. The zero value runs with no stdin, the
// caller's environment and defaultTimeout.
type cmdOpts struct {
	stdin      io.Reader
	extraFiles []*os.File
	dir        string
	env        []string // added to the inherited environment
	timeout    time.Duration
	// wrap is put before the runtime's argv (h.rt only), e.g. an unshare
	// that gives the runtime a private mount namespace.
	wrap []string
}

// runCmd runs argv with a timeout; it is safe in any goroutine. Output
// goes to temporary files, not pipes: a detached container inherits the
// runtime's stdout and would keep a pipe open (and Wait blocked) for as
// long as it lives.
func runCmd(tmpDir string, o cmdOpts, argv ...string) result {
	timeout := o.timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = o.dir
	cmd.Env = append(os.Environ(), o.env...)
	cmd.Stdin = o.stdin
	cmd.ExtraFiles = o.extraFiles
	cmd.WaitDelay = 2 * time.Second
	stdout, err := os.CreateTemp(tmpDir, "stdout-")
	if err != nil {
		return result{Args: argv, Exit: -1, Err: fmt.Errorf("stdout file: %w", err)}
	}
	defer os.Remove(stdout.Name())
	defer stdout.Close()
	stderr, err := os.CreateTemp(tmpDir, "stderr-")
	if err != nil {
		return result{Args: argv, Exit: -1, Err: fmt.Errorf("stderr file: %w", err)}
	}
	defer os.Remove(stderr.Name())
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	start := time.Now()
	runErr := cmd.Run()
	r := result{Args: argv, Err: runErr, Duration: time.Since(start)}
	r.Stdout = readAll(stdout.Name())
	r.Stderr = readAll(stderr.Name())
	r.Exit = exitCode(cmd)
	if ctx.Err() != nil {
		r.Exit = -1
		r.Err = fmt.Errorf("timed out after %v: %w", timeout, runErr)
	}
	return r
}

func exitCode(cmd *exec.Cmd) int {
	if cmd.ProcessState == nil {
		return -1
	}
	// Killed by a signal: report it the way a shell would.
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return cmd.ProcessState.ExitCode()
}

func readAll(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("<read %s: %v>", path, err)
	}
	return string(data)
}

// harness is one test's view of the runtime: a private state root, a work
// directory, and the containers to clean up and check afterwards.
type harness struct {
	t       *testing.T
	suite   *suiteEnv
	runtime string
	dir     string
	root    string
	// marker is put in every container's environment and every runtime
	// command's, so leftover processes can be found from the host.
	marker string
	ids    []string
	// allIDs are every id handed out, for cgroup cleanup even when a test
	// never got to create the container.
	allIDs       []string
	seen         []seenProcess
	mountsBefore []*mountinfo.Info
	nextBundle   int
}

// newHarness prepares a test and registers the cleanup that deletes its
// containers and fails the test on anything left behind.
func newHarness(t *testing.T) *harness {
	t.Helper()
	skipUnlessRoot(t)
	s, err := loadSuite()
	if err != nil {
		t.Fatalf("suite setup: %v", err)
	}
	dir, err := os.MkdirTemp(s.baseDir, sanitize(t.Name())+"-")
	if err != nil {
		t.Fatalf("test dir: %v", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("chmod test dir: %v", err)
	}
	mounts, err := mountinfo.GetMounts(nil)
	if err != nil {
		t.Fatalf("host mounts: %v", err)
	}
	h := &harness{
		t:            t,
		suite:        s,
		runtime:      s.runtime,
		dir:          dir,
		root:         filepath.Join(dir, "state"),
		marker:       "HUSK_TEST_MARKER=" + filepath.Base(dir),
		mountsBefore: mounts,
	}
	if err := os.Mkdir(h.root, 0o700); err != nil {
		t.Fatalf("state root: %v", err)
	}
	t.Cleanup(h.cleanup)
	return h
}

// sanitize turns a test name into something usable in paths and ids.
func sanitize(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	s := b.String()
	if len(s) > 40 {
		s = s[len(s)-40:]
	}
	return strings.Trim(s, "-")
}

// newID returns a container id unique to this test and this suite run.
func (h *harness) newID() string {
	h.nextBundle++
	id := fmt.Sprintf("%s-%s-%d", sanitize(h.t.Name()), h.suite.runToken, h.nextBundle)
	h.allIDs = append(h.allIDs, id)
	return id
}

// track registers id for deletion and leftover checks at cleanup.
func (h *harness) track(id string) {
	for _, known := range h.ids {
		if known == id {
			return
		}
	}
	h.ids = append(h.ids, id)
}

// rt runs the runtime with this test's --root and the given arguments.
func (h *harness) rt(o cmdOpts, args ...string) result {
	h.t.Helper()
	if o.dir == "" {
		o.dir = h.dir
	}
	o.env = append(o.env, h.marker)
	argv := append(append(append([]string(nil), o.wrap...), h.runtime, "--root", h.root), args...)
	return runCmd(h.dir, o, argv...)
}

// rtOK runs the runtime and fails the test unless it exits 0.
func (h *harness) rtOK(o cmdOpts, args ...string) result {
	h.t.Helper()
	r := h.rt(o, args...)
	if r.Exit != 0 {
		h.t.Fatalf("runtime failed: %v", r)
	}
	return r
}

// run runs b in the foreground (`run`), returning the container's output.
func (h *harness) run(b *bundle, o cmdOpts, extra ...string) result {
	h.t.Helper()
	b.write(h.t)
	h.track(b.id)
	args := append([]string{"run", "--bundle", b.dir}, extra...)
	return h.rt(o, append(args, b.id)...)
}

// runOK is run that requires exit 0 and returns stdout.
func (h *harness) runOK(b *bundle, extra ...string) string {
	h.t.Helper()
	r := h.run(b, cmdOpts{}, extra...)
	if r.Exit != 0 {
		h.t.Fatalf("run failed: %v", r)
	}
	return r.Stdout
}

// create runs `create` for b.
func (h *harness) create(b *bundle, o cmdOpts, extra ...string) result {
	h.t.Helper()
	b.write(h.t)
	h.track(b.id)
	args := append([]string{"create", "--bundle", b.dir}, extra...)
	return h.rt(o, append(args, b.id)...)
}

// mustCreate creates b and returns its state, which must be `created`.
func (h *harness) mustCreate(b *bundle, extra ...string) containerState {
	h.t.Helper()
	if r := h.create(b, cmdOpts{}, extra...); r.Exit != 0 {
		h.t.Fatalf("create failed: %v", r)
	}
	st := h.mustState(b.id)
	if st.Status != specs.StateCreated {
		h.t.Fatalf("state after create = %q, want created", st.Status)
	}
	return st
}

// mustStart starts id and waits until it is no longer `created`.
func (h *harness) mustStart(id string) {
	h.t.Helper()
	h.rtOK(cmdOpts{}, "start", id)
}

// containerState is the runtime's `state` output: the OCI state plus runc's
// extra fields.
type containerState struct {
	specs.State
	Rootfs  string    `json:"rootfs"`
	Created time.Time `json:"created"`
	Owner   string    `json:"owner"`
}

// state returns the parsed state of id and the raw command result.
func (h *harness) state(id string) (containerState, result) {
	h.t.Helper()
	r := h.rt(cmdOpts{}, "state", id)
	var st containerState
	if r.Exit == 0 {
		if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
			h.t.Fatalf("state %s: bad JSON %q: %v", id, r.Stdout, err)
		}
		if st.Pid > 0 {
			h.remember(st.Pid)
		}
	}
	return st, r
}

func (h *harness) mustState(id string) containerState {
	h.t.Helper()
	st, r := h.state(id)
	if r.Exit != 0 {
		h.t.Fatalf("state %s: %v", id, r)
	}
	return st
}

// waitStatus polls `state` until id reaches want or the deadline passes.
func (h *harness) waitStatus(id string, want specs.ContainerState, within time.Duration) containerState {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := h.mustState(id)
		if st.Status == want {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("container %s is %q after %v, want %q", id, st.Status, within, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFile polls until path exists with non-empty content and returns it.
func waitFile(t *testing.T, path string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		data, err := os.ReadFile(path)
		if err == nil && len(data) > 0 {
			return string(data)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within %v (last error %v)", path, within, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mustContain fails unless s contains every want.
func mustContain(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s: missing %q in:\n%s", what, w, s)
		}
	}
}
