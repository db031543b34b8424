package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestLifecycle walks one container through create, start, kill and delete
// and checks the state at each step.
func TestLifecycle(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	b.spec.Process.Args = []string{"sleep", "1000"}
	b.spec.Annotations = map[string]string{"org.example.key": "value", "empty": ""}

	before := time.Now().Add(-time.Second)
	st := h.mustCreate(b)
	if st.Pid <= 0 || !alive(st.Pid) {
		t.Errorf("created: pid %d is not a live process", st.Pid)
	}
	if st.ID != b.id {
		t.Errorf("id = %q, want %q", st.ID, b.id)
	}
	if st.Bundle != b.dir {
		t.Errorf("bundle = %q, want %q", st.Bundle, b.dir)
	}
	if st.Rootfs != b.rootfs {
		t.Errorf("rootfs = %q, want %q", st.Rootfs, b.rootfs)
	}
	if st.Version == "" {
		t.Errorf("ociVersion is empty")
	}
	// runc's `state` leaves owner empty (its `list` fills it in).
	if st.Owner != "" && st.Owner != "root" {
		t.Errorf("owner = %q, want root", st.Owner)
	}
	if st.Created.Before(before) || st.Created.After(time.Now().Add(time.Second)) {
		t.Errorf("created = %v, want about now", st.Created)
	}
	if len(st.Annotations) != 2 || st.Annotations["org.example.key"] != "value" {
		t.Errorf("annotations = %v, want them back as given", st.Annotations)
	}

	h.mustStart(b.id)
	running := h.waitStatus(b.id, specs.StateRunning, 5*time.Second)
	if running.Pid != st.Pid {
		t.Errorf("running pid %d != created pid %d", running.Pid, st.Pid)
	}
	if r := h.rt(cmdOpts{}, "start", b.id); r.Exit == 0 {
		t.Errorf("start of a running container succeeded: %v", r)
	}

	h.rtOK(cmdOpts{}, "kill", b.id, "SIGKILL")
	stopped := h.waitStatus(b.id, specs.StateStopped, 5*time.Second)
	if stopped.Pid != 0 {
		t.Errorf("stopped container has pid %d, want 0", stopped.Pid)
	}
	if r := h.rt(cmdOpts{}, "start", b.id); r.Exit == 0 {
		t.Errorf("start of a stopped container succeeded: %v", r)
	}

	h.rtOK(cmdOpts{}, "delete", b.id)
	_, r := h.state(b.id)
	if r.Exit != 1 || !strings.Contains(r.Stderr, "container does not exist") {
		t.Errorf("state after delete: want exit 1 and \"container does not exist\", got %v", r)
	}
	if _, err := os.Stat(filepath.Join(h.root, b.id)); !os.IsNotExist(err) {
		t.Errorf("state dir still there after delete (stat err %v)", err)
	}
}

// TestStateJSONFormat checks the raw state document: two-space indent and
// the field names engines parse.
func TestStateJSONFormat(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	b.spec.Process.Args = []string{"sleep", "1000"}
	h.mustCreate(b)
	r := h.rtOK(cmdOpts{}, "state", b.id)
	var raw map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &raw); err != nil {
		t.Fatalf("state is not JSON: %v\n%s", err, r.Stdout)
	}
	for _, key := range []string{"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("state has no %q: %s", key, r.Stdout)
		}
	}
	if !strings.Contains(r.Stdout, "\n  \"id\": ") {
		t.Errorf("state is not indented with two spaces:\n%s", r.Stdout)
	}
}

func TestDuplicateIDFails(t *testing.T) {
	h := newHarness(t)
	first := h.newBundle()
	first.spec.Process.Args = []string{"sleep", "1000"}
	h.mustCreate(first)
	second := h.newBundle()
	second.id = first.id
	if r := h.create(second, cmdOpts{}); r.Exit == 0 {
		t.Fatalf("second create with id %s succeeded: %v", first.id, r)
	}
	// The first container must be untouched by the failed attempt.
	st := h.mustState(first.id)
	if st.Status != specs.StateCreated || st.Bundle != first.dir {
		t.Errorf("first container after duplicate create: %+v", st)
	}
}

func TestDeleteRunning(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	b.spec.Process.Args = []string{"sleep", "1000"}
	st := h.mustCreate(b)
	h.mustStart(b.id)
	h.waitStatus(b.id, specs.StateRunning, 5*time.Second)
	if r := h.rt(cmdOpts{}, "delete", b.id); r.Exit == 0 {
		t.Fatalf("delete of a running container without -f succeeded: %v", r)
	}
	if got := h.mustState(b.id); got.Status != specs.StateRunning {
		t.Fatalf("after refused delete the container is %q", got.Status)
	}
	h.rtOK(cmdOpts{}, "delete", "-f", b.id)
	if _, r := h.state(b.id); r.Exit == 0 {
		t.Errorf("container still exists after delete -f")
	}
	if alive(st.Pid) {
		t.Errorf("init %d still alive after delete -f", st.Pid)
	}
}

// TestDeleteCreated: a created container is killed and removed by a plain
// delete.
func TestDeleteCreated(t *testing.T) {
	// runc's behaviour, which containerd's shim relies on (it deletes a
	// created task without --force): the init is killed and the container
	// removed. The runtime-spec would refuse; see docs/conformance.md.
	h := newHarness(t)
	b := h.newBundle()
	b.spec.Process.Args = []string{"sleep", "1000"}
	st := h.mustCreate(b)
	h.rtOK(cmdOpts{}, "delete", b.id)
	if _, r := h.state(b.id); r.Exit == 0 {
		t.Errorf("container still exists after delete")
	}
	deadline := time.Now().Add(3 * time.Second)
	for alive(st.Pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(st.Pid) {
		t.Errorf("init %d of the created container survived delete", st.Pid)
	}
}

func TestDeleteForceMissingIsOK(t *testing.T) {
	h := newHarness(t)
	r := h.rt(cmdOpts{}, "delete", "-f", "no-such-container-"+h.suite.runToken)
	if r.Exit != 0 {
		t.Errorf("delete -f of a missing container: %v", r)
	}
	r = h.rt(cmdOpts{}, "delete", "no-such-container-"+h.suite.runToken)
	if r.Exit == 0 {
		t.Errorf("delete (no -f) of a missing container succeeded")
	}
}

// TestKillSignalForms sends SIGKILL spelled three ways; each must stop a
// `sleep` init (which ignores nothing: SIGKILL cannot be caught).
func TestKillSignalForms(t *testing.T) {
	for _, sig := range []string{"KILL", "SIGKILL", "9"} {
		t.Run(sig, func(t *testing.T) {
			h := newHarness(t)
			b := h.newBundle()
			b.spec.Process.Args = []string{"sleep", "1000"}
			h.mustCreate(b)
			h.mustStart(b.id)
			h.waitStatus(b.id, specs.StateRunning, 5*time.Second)
			h.rtOK(cmdOpts{}, "kill", b.id, sig)
			h.waitStatus(b.id, specs.StateStopped, 5*time.Second)
		})
	}
}

// TestKillDefaultIsTERM: `kill ID` sends SIGTERM. The init is a shell that
// traps TERM (pid 1 of a pid namespace only gets signals it handles) and
// records it in a host directory.
func TestKillDefaultIsTERM(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	out := h.bindDir(b, "out", "/out")
	b.shell(`trap 'echo TERM > /out/signal; exit 0' TERM; echo ready > /out/ready; while :; do sleep 0.05; done`)
	h.mustCreate(b)
	h.mustStart(b.id)
	waitFile(t, filepath.Join(out, "ready"), 5*time.Second)
	h.rtOK(cmdOpts{}, "kill", b.id)
	got := waitFile(t, filepath.Join(out, "signal"), 5*time.Second)
	if strings.TrimSpace(got) != "TERM" {
		t.Errorf("signal file = %q", got)
	}
	h.waitStatus(b.id, specs.StateStopped, 5*time.Second)
}

func TestKillStoppedFails(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	b.spec.Process.Args = []string{"true"}
	h.mustCreate(b)
	h.mustStart(b.id)
	h.waitStatus(b.id, specs.StateStopped, 5*time.Second)
	if r := h.rt(cmdOpts{}, "kill", b.id, "KILL"); r.Exit == 0 {
		t.Errorf("kill of a stopped container succeeded: %v", r)
	}
}

// TestPidFile: --pid-file relative to the caller's cwd, the pid without a
// newline.
func TestPidFile(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	b.spec.Process.Args = []string{"sleep", "1000"}
	cwd := filepath.Join(h.dir, "caller")
	if err := os.Mkdir(cwd, 0o755); err != nil {
		t.Fatal(err)
	}
	if r := h.create(b, cmdOpts{dir: cwd}, "--pid-file", "init.pid"); r.Exit != 0 {
		t.Fatalf("create: %v", r)
	}
	st := h.mustState(b.id)
	data, err := os.ReadFile(filepath.Join(cwd, "init.pid"))
	if err != nil {
		t.Fatalf("pid file not written relative to the caller's cwd: %v", err)
	}
	if string(data) != strconv.Itoa(st.Pid) {
		t.Errorf("pid file = %q, want %q (no newline)", data, strconv.Itoa(st.Pid))
	}
}
