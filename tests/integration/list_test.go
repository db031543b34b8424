package integration

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestList checks the three output forms of `list` with one created and
// one running container.
func TestList(t *testing.T) {
	h := newHarness(t)
	created := h.newBundle()
	created.spec.Process.Args = []string{"sleep", "1000"}
	createdState := h.mustCreate(created)
	running := h.newBundle()
	running.spec.Process.Args = []string{"sleep", "1000"}
	h.mustCreate(running)
	h.mustStart(running.id)
	runningState := h.waitStatus(running.id, specs.StateRunning, 5*time.Second)

	table := h.rtOK(cmdOpts{}, "list").Stdout
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("list: want a header and 2 rows, got:\n%s", table)
	}
	if got := strings.Join(strings.Fields(lines[0]), " "); got != "ID PID STATUS BUNDLE CREATED OWNER" {
		t.Errorf("list header = %q", got)
	}
	rows := map[string][]string{}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) != 6 {
			t.Errorf("list row has %d columns: %q", len(f), line)
			continue
		}
		rows[f[0]] = f
	}
	check := func(id string, st containerState, status string) {
		row, ok := rows[id]
		if !ok {
			t.Errorf("list has no row for %s:\n%s", id, table)
			return
		}
		want := []string{id, strconv.Itoa(st.Pid), status, st.Bundle}
		for i, w := range want {
			if row[i] != w {
				t.Errorf("list row %q column %d = %q, want %q", id, i, row[i], w)
			}
		}
		if _, err := time.Parse(time.RFC3339Nano, row[4]); err != nil {
			t.Errorf("list CREATED %q is not RFC 3339: %v", row[4], err)
		}
		if row[5] != "root" {
			t.Errorf("list OWNER = %q, want root", row[5])
		}
	}
	check(created.id, createdState, "created")
	check(running.id, runningState, "running")

	quiet := strings.Fields(h.rtOK(cmdOpts{}, "list", "-q").Stdout)
	if len(quiet) != 2 || !(contains(quiet, created.id) && contains(quiet, running.id)) {
		t.Errorf("list -q = %q, want both ids", quiet)
	}

	var entries []containerState
	out := h.rtOK(cmdOpts{}, "list", "-f", "json").Stdout
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("list -f json is not a JSON array of states: %v\n%s", err, out)
	}
	if len(entries) != 2 {
		t.Fatalf("list -f json has %d entries, want 2:\n%s", len(entries), out)
	}
	for _, e := range entries {
		if e.ID != created.id && e.ID != running.id {
			t.Errorf("unexpected entry %q", e.ID)
		}
		if e.Bundle == "" || e.Pid <= 0 || e.Created.IsZero() || e.Owner != "root" {
			t.Errorf("json entry lacks fields: %+v", e)
		}
	}
}

// TestListEmpty: an empty (or missing) root lists nothing, without error.
func TestListEmpty(t *testing.T) {
	h := newHarness(t)
	table := h.rtOK(cmdOpts{}, "list").Stdout
	if lines := strings.Split(strings.TrimRight(table, "\n"), "\n"); len(lines) != 1 {
		t.Errorf("list of an empty root: want only the header, got:\n%s", table)
	}
	if out := strings.TrimSpace(h.rtOK(cmdOpts{}, "list", "-q").Stdout); out != "" {
		t.Errorf("list -q of an empty root = %q", out)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestStoppedWhileZombie: once init has died the container is stopped,
// even while nobody has reaped the zombie yet. The test process becomes a
// child subreaper so the orphaned init is reparented to it and stays a
// zombie until cleanup reaps it.
func TestStoppedWhileZombie(t *testing.T) {
	h := newHarness(t)
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
	// Registered after the harness, so it runs before the harness cleanup
	// reaps the zombie.
	t.Cleanup(func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
	b := h.newBundle()
	b.spec.Process.Args = []string{"sleep", "1000"}
	st := h.mustCreate(b)
	h.mustStart(b.id)
	h.waitStatus(b.id, specs.StateRunning, 5*time.Second)
	// Kill init behind the runtime's back.
	if err := unix.Kill(st.Pid, unix.SIGKILL); err != nil {
		t.Fatalf("kill init: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(st.Pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	ps, ok := procStat(st.Pid)
	if !ok || ps.state != 'Z' {
		t.Skipf("init %d is not a zombie (state %q, ok %v): the runtime keeps a reaper; nothing to check", st.Pid, ps.state, ok)
	}
	got := h.mustState(b.id)
	if got.Status != specs.StateStopped || got.Pid != 0 {
		t.Errorf("with init a zombie: status %q pid %d, want stopped and 0", got.Status, got.Pid)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(st.Pid)); err != nil {
		t.Errorf("zombie vanished before the check: the test proved nothing")
	}
}
