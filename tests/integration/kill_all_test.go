package integration

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// pidsInNamespaceOf lists the host pids that share pid's pid namespace.
func pidsInNamespaceOf(t *testing.T, pid int) []int {
	t.Helper()
	want, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if err != nil {
		t.Fatalf("read pid namespace of %d: %v", pid, err)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if link, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && link == want {
			if st := readAll(fmt.Sprintf("/proc/%d/stat", p)); st != "" && !isZombieStat(st) {
				pids = append(pids, p)
			}
		}
	}
	return pids
}

func isZombieStat(stat string) bool {
	for i := len(stat) - 1; i > 0; i-- {
		if stat[i] == ')' {
			return i+2 < len(stat) && stat[i+2] == 'Z'
		}
	}
	return false
}

// TestKillAll: `kill --all USR1` reaches every process of the container,
// not only init; plain `kill USR1` only init. Init handles USR1 (a
// handled signal is reset to the default, terminate, in its children).
func TestKillAll(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().shell(`trap 'true' USR1; sleep 1000 & sleep 1000 & wait; wait; wait; sleep 1000`)
	st := h.mustCreate(b)
	h.mustStart(b.id)
	deadline := time.Now().Add(5 * time.Second)
	for len(pidsInNamespaceOf(t, st.Pid)) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("container did not start its two sleeps: pids %v", pidsInNamespaceOf(t, st.Pid))
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.rtOK(cmdOpts{}, "kill", b.id, "USR1")
	time.Sleep(200 * time.Millisecond)
	if n := len(pidsInNamespaceOf(t, st.Pid)); n != 3 {
		t.Fatalf("plain kill USR1 changed the container: %d processes, want 3", n)
	}
	h.rtOK(cmdOpts{}, "kill", "--all", b.id, "USR1")
	// The sleeps die; init (which handles USR1) then runs its last sleep.
	deadline = time.Now().Add(5 * time.Second)
	for {
		pids := pidsInNamespaceOf(t, st.Pid)
		if len(pids) == 2 && h.mustState(b.id).Status == specs.StateRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after kill --all USR1: pids %v, want init and its new sleep", pids)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKillAllWithoutPidNamespace: without a pid namespace of its own the
// container's processes cannot be found (no cgroups yet): an error, not a
// guess.
func TestKillAllWithoutPidNamespace(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().dropNamespace(specs.PIDNamespace).shell(`sleep 1000`)
	h.mustCreate(b)
	h.mustStart(b.id)
	r := h.rt(cmdOpts{}, "kill", "--all", b.id, "KILL")
	if r.Exit == 0 {
		t.Fatalf("kill --all without a pid namespace succeeded: %v", r)
	}
	mustContain(t, "error", r.Stderr, "pid namespace")
}
