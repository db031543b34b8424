package integration

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// seenProcess is a container process the test observed; its start time
// tells it apart from a later process that reuses the pid.
type seenProcess struct {
	pid       int
	startTime string
}

// remember records pid as a container process that must be gone at cleanup.
func (h *harness) remember(pid int) {
	for _, p := range h.seen {
		if p.pid == pid {
			return
		}
	}
	if st, ok := procStat(pid); ok {
		h.seen = append(h.seen, seenProcess{pid: pid, startTime: st.startTime})
	}
}

type procStatus struct {
	state     byte
	ppid      int
	startTime string
}

// procStat reads /proc/PID/stat; ok is false when the process is gone.
func procStat(pid int) (procStatus, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStatus{}, false
	}
	// The command name is in parentheses and may contain anything.
	end := bytes.LastIndexByte(data, ')')
	if end < 0 || end+2 >= len(data) {
		return procStatus{}, false
	}
	rest := strings.Fields(string(data[end+2:]))
	if len(rest) < 20 {
		return procStatus{}, false
	}
	ppid, _ := strconv.Atoi(rest[1])
	// Field 22 (starttime) is rest[19]: rest starts at field 3.
	return procStatus{state: rest[0][0], ppid: ppid, startTime: rest[19]}, true
}

// alive reports whether pid runs (a zombie counts as stopped).
func alive(pid int) bool {
	st, ok := procStat(pid)
	return ok && st.state != 'Z' && st.state != 'X'
}

// cleanup deletes the test's containers and fails the test on leftovers.
func (h *harness) cleanup() {
	t := h.t
	for i := len(h.ids) - 1; i >= 0; i-- {
		r := h.rt(cmdOpts{timeout: 15 * time.Second}, "delete", "-f", h.ids[i])
		if r.Exit != 0 {
			t.Logf("cleanup: delete -f %s: %v", h.ids[i], r)
		}
	}
	var procs, states []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		procs, states = h.leftoverProcesses(), h.leftoverState()
		if len(procs)+len(states) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	for _, p := range procs {
		t.Errorf("leftover process: %s", p)
	}
	for _, s := range states {
		t.Errorf("leftover state entry: %s", s)
	}
	h.killLeftovers()
	h.reapOwnZombies()
	for _, m := range h.newHostMounts() {
		t.Errorf("leftover host mount: %s %s %s (%s)", m.Mountpoint, m.FSType, m.Source, m.Options)
		if strings.HasPrefix(m.Mountpoint, h.suite.baseDir+"/") {
			// Ours to undo, so the directory can be removed.
			_ = unix.Unmount(m.Mountpoint, unix.MNT_DETACH)
		}
	}
	h.removeCgroups()
	if t.Failed() && os.Getenv("HUSK_TEST_KEEP") != "" {
		t.Logf("keeping %s", h.dir)
		return
	}
	if err := os.RemoveAll(h.dir); err != nil {
		t.Logf("remove %s: %v", h.dir, err)
	}
}

// leftoverState lists what the runtime still keeps under the state root.
func (h *harness) leftoverState() []string {
	entries, err := os.ReadDir(h.root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return []string{fmt.Sprintf("read %s: %v", h.root, err)}
	}
	var out []string
	for _, e := range entries {
		out = append(out, filepath.Join(h.root, e.Name()))
	}
	return out
}

// leftoverProcesses finds live processes that belong to this test: the
// container processes seen, anything carrying the marker in its
// environment, and anything whose command line, cwd or root is under the
// test directory.
func (h *harness) leftoverProcesses() []string {
	var out []string
	self := os.Getpid()
	for _, p := range h.seen {
		st, ok := procStat(p.pid)
		if ok && st.startTime == p.startTime && st.state != 'Z' && st.state != 'X' {
			out = append(out, describeProcess(p.pid, "container process still running"))
		}
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || !alive(pid) || h.isSeen(pid) {
			continue
		}
		if why := h.belongsToTest(pid); why != "" {
			out = append(out, describeProcess(pid, why))
		}
	}
	return out
}

func (h *harness) isSeen(pid int) bool {
	for _, p := range h.seen {
		if p.pid == pid {
			return true
		}
	}
	return false
}

// belongsToTest says why pid looks like this test's, or "" if it does not.
func (h *harness) belongsToTest(pid int) string {
	base := fmt.Sprintf("/proc/%d/", pid)
	if env, err := os.ReadFile(base + "environ"); err == nil {
		for _, kv := range bytes.Split(env, []byte{0}) {
			if string(kv) == h.marker {
				return "has the test marker in its environment"
			}
		}
	}
	if cmdline, err := os.ReadFile(base + "cmdline"); err == nil && bytes.Contains(cmdline, []byte(h.dir)) {
		return "command line refers to the test dir"
	}
	for _, link := range []string{"cwd", "root"} {
		target, err := os.Readlink(base + link)
		if err == nil && (target == h.dir || strings.HasPrefix(target, h.dir+"/")) {
			return link + " is " + target
		}
	}
	return ""
}

func describeProcess(pid int, why string) string {
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return fmt.Sprintf("pid %d %q: %s", pid, strings.ReplaceAll(string(cmdline), "\x00", " "), why)
}

// killLeftovers SIGKILLs what leftoverProcesses found, so one failing test
// does not leave work for the next.
func (h *harness) killLeftovers() {
	for _, p := range h.seen {
		if st, ok := procStat(p.pid); ok && st.startTime == p.startTime && alive(p.pid) {
			_ = unix.Kill(p.pid, unix.SIGKILL)
		}
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err == nil && pid != os.Getpid() && alive(pid) && h.belongsToTest(pid) != "" {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}

// reapOwnZombies waits for container processes that became children of
// the test process (tests that make it a subreaper). Only pids the test saw
// are waited for: os/exec owns every other child.
func (h *harness) reapOwnZombies() {
	for _, p := range h.seen {
		if st, ok := procStat(p.pid); ok && st.ppid == os.Getpid() && st.startTime == p.startTime {
			var ws unix.WaitStatus
			_, _ = unix.Wait4(p.pid, &ws, unix.WNOHANG, nil)
		}
	}
}

// newHostMounts lists the host mounts that appeared during the test.
func (h *harness) newHostMounts() []*mountinfo.Info {
	after, err := mountinfo.GetMounts(nil)
	if err != nil {
		h.t.Errorf("host mounts: %v", err)
		return nil
	}
	before := make(map[int]bool, len(h.mountsBefore))
	for _, m := range h.mountsBefore {
		before[m.ID] = true
	}
	var added []*mountinfo.Info
	for _, m := range after {
		if !before[m.ID] {
			added = append(added, m)
		}
	}
	return added
}

// cgroupHierarchies lists the mounted cgroup hierarchies of the host.
func cgroupHierarchies() []string {
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return nil
	}
	var dirs []string
	for _, m := range mounts {
		dirs = append(dirs, m.Mountpoint)
	}
	return dirs
}

// removeCgroups removes the cgroups the runtime made for this test's
// containers under the test-only parent, and nothing else.
func (h *harness) removeCgroups() {
	for _, id := range append(h.allIDs, h.ids...) {
		for _, hier := range cgroupHierarchies() {
			dir := filepath.Join(hier, cgroupTestParent, id)
			if _, err := os.Stat(dir); err != nil {
				continue
			}
			var err error
			for try := 0; try < 50; try++ {
				if err = os.Remove(dir); err == nil || !errors.Is(err, unix.EBUSY) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err != nil {
				h.t.Logf("cgroup %s not removed: %v", dir, err)
			}
		}
	}
}
