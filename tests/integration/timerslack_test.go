package integration

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/huskrt/husk/internal/testutil"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestTimerSlackOfChildren: husk relaxes the timer slack of its own
// threads (package timerslack), but the container and every hook start
// with the slack husk was started with, as they do under runc. With a
// joined network namespace the init is forked from a thread made for the
// join, and in-container hooks always are: both paths are covered.
func TestTimerSlackOfChildren(t *testing.T) {
	t.Run("new namespaces", func(t *testing.T) { checkTimerSlackOfChildren(t, false) })
	t.Run("joined network namespace", func(t *testing.T) { checkTimerSlackOfChildren(t, true) })
}

func checkTimerSlackOfChildren(t *testing.T, joinNetwork bool) {
	if !testutil.HasEffectiveCap(unix.CAP_SYS_NICE) {
		t.Skip("the runtime relaxes its threads' slack, and the hooks read it, only with CAP_SYS_NICE, which this test process lacks")
	}
	h := newHarness(t)
	b := h.newBundle()
	if joinNetwork {
		b.setNamespace(specs.NetworkNamespace, "/proc/self/ns/net")
	}
	rec := h.newHookRecorder(b)
	record := func(name string) specs.Hook {
		return rec.hook(name, `cat /proc/self/timerslack_ns > "$out/$0.slack"`)
	}
	// A host hook's parent is the runtime: record its threads' slack too.
	recordWithParent := func(name string) specs.Hook {
		return rec.hook(name, `cat /proc/self/timerslack_ns > "$out/$0.slack"
for t in /proc/$PPID/task/*; do cat /proc/${t##*/}/timerslack_ns; done > "$out/$0.parent-slack"`)
	}
	b.spec.Hooks = &specs.Hooks{
		Prestart:        []specs.Hook{recordWithParent("prestart")},
		CreateRuntime:   []specs.Hook{record("createRuntime")},
		CreateContainer: []specs.Hook{record("createContainer")},
		StartContainer:  []specs.Hook{record("startContainer")},
		Poststart:       []specs.Hook{record("poststart")},
		Poststop:        []specs.Hook{recordWithParent("poststop")},
	}
	b.spec.Process.Args = []string{"cat", "/proc/self/timerslack_ns"}

	// The runtime is forked from this thread and inherits its slack.
	const callerSlack = 77_777
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, callerSlack, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(before), 0, 0, 0)
	out := h.runOK(b)

	if got := strings.TrimSpace(out); got != "77777" {
		t.Errorf("the container's timer slack is %q, want the caller's 77777", got)
	}
	for _, name := range []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"} {
		if got := strings.TrimSpace(rec.read(name, "slack")); got != "77777" {
			t.Errorf("the %s hook's timer slack is %q, want the caller's 77777", name, got)
		}
	}
	if filepath.Base(h.runtime) != "husk" {
		return // runc and crun keep the caller's slack themselves
	}
	for _, name := range []string{"prestart", "poststop"} {
		for _, ns := range nonEmptyLines(rec.read(name, "parent-slack")) {
			if ns != "1000000" {
				t.Errorf("a husk thread seen from the %s hook has timer slack %s, want the relaxed 1000000", name, ns)
			}
		}
	}
}
