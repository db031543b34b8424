package integration

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// nsNames maps /proc/PID/ns entries to spec namespace types.
func nsNames() map[string]specs.LinuxNamespaceType {
	return map[string]specs.LinuxNamespaceType{
		"pid": specs.PIDNamespace, "net": specs.NetworkNamespace, "ipc": specs.IPCNamespace,
		"uts": specs.UTSNamespace, "mnt": specs.MountNamespace, "cgroup": specs.CgroupNamespace,
		"user": specs.UserNamespace, "time": specs.TimeNamespace,
	}
}

// nsScript prints "name link" for each namespace of the shell itself.
const nsScript = `for n in pid net ipc uts mnt cgroup user time; do echo $n $(readlink /proc/self/ns/$n); done`

// parseNS reads nsScript output into name -> link.
func parseNS(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, line := range nonEmptyLines(out) {
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("bad namespace line %q in:\n%s", line, out)
		}
		got[f[0]] = f[1]
	}
	return got
}

// nsOf returns the namespace link of pid ("self" allowed) for name.
func nsOf(t *testing.T, pid, name string) string {
	t.Helper()
	link, err := os.Readlink("/proc/" + pid + "/ns/" + name)
	if err != nil {
		t.Fatalf("namespace %s of %s: %v", name, pid, err)
	}
	return link
}

// checkNamespaces compares the container's namespaces with the host's:
// the types in fresh must differ, every other type must be the host's.
func checkNamespaces(t *testing.T, inside map[string]string, fresh ...specs.LinuxNamespaceType) {
	t.Helper()
	for name, typ := range nsNames() {
		host := nsOf(t, "self", name)
		isFresh := false
		for _, f := range fresh {
			isFresh = isFresh || f == typ
		}
		switch {
		case inside[name] == "":
			t.Errorf("container did not report its %s namespace", name)
		case isFresh && inside[name] == host:
			t.Errorf("%s namespace is the host's (%s), want a new one", name, host)
		case !isFresh && inside[name] != host:
			t.Errorf("%s namespace is %s, want the host's %s", name, inside[name], host)
		}
	}
}

func TestNamespacesNew(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().shell(nsScript)
	b.setNamespace(specs.CgroupNamespace, "")
	checkNamespaces(t, parseNS(t, h.runOK(b)),
		specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace,
		specs.UTSNamespace, specs.MountNamespace, specs.CgroupNamespace)
}

// TestNamespacesShared: namespaces left out of the spec are the host's.
func TestNamespacesShared(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().shell(nsScript)
	for _, ns := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace} {
		b.dropNamespace(ns)
	}
	b.spec.Hostname = "" // a hostname needs a private UTS namespace
	checkNamespaces(t, parseNS(t, h.runOK(b)), specs.MountNamespace)
}

func TestPIDNamespaceInitIsPid1(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	b.spec.Process.Args = []string{"cat", "/proc/self/stat"}
	out := h.runOK(b)
	if f := strings.Fields(out); len(f) == 0 || f[0] != "1" {
		t.Errorf("/proc/self/stat of init = %q, want pid 1", out)
	}
}

func TestUTSNamespace(t *testing.T) {
	h := newHarness(t)
	hostName, _ := os.Hostname()
	b := h.newBundle()
	b.spec.Process.Args = []string{"hostname"}
	b.spec.Hostname = "husk-box"
	if out := h.runOK(b); out != "husk-box\n" {
		t.Errorf("hostname inside = %q", out)
	}
	if now, _ := os.Hostname(); now != hostName {
		t.Errorf("host hostname changed from %q to %q", hostName, now)
	}
}

// TestUTSDomainname: spec 1.1's domainname. runc 1.1.5 ignores the field
// (runc 1.2 added it), so this fails on it with "(none)".
func TestUTSDomainname(t *testing.T) {
	h := newHarness(t)
	hostDomain, _ := os.ReadFile("/proc/sys/kernel/domainname")
	b := h.newBundle()
	b.spec.Process.Args = []string{"cat", "/proc/sys/kernel/domainname"}
	b.spec.Domainname = "example.test"
	if out := h.runOK(b); out != "example.test\n" {
		t.Errorf("domainname inside = %q", out)
	}
	if now, _ := os.ReadFile("/proc/sys/kernel/domainname"); string(now) != string(hostDomain) {
		t.Errorf("host domainname changed from %q to %q", hostDomain, now)
	}
}

func TestNetNamespaceOnlyLoopback(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	b.spec.Process.Args = []string{"cat", "/proc/net/dev"}
	out := h.runOK(b)
	var ifaces []string
	for _, line := range nonEmptyLines(out) {
		if name, _, ok := strings.Cut(line, ":"); ok {
			ifaces = append(ifaces, strings.TrimSpace(name))
		}
	}
	if len(ifaces) != 1 || ifaces[0] != "lo" {
		t.Errorf("interfaces inside = %q, want only lo:\n%s", ifaces, out)
	}
}

// TestIPCNamespace: a SysV shared memory segment of the host is not
// visible inside.
func TestIPCNamespace(t *testing.T) {
	h := newHarness(t)
	key := int(time.Now().UnixNano()&0x3fffffff) | 0x40000000
	id, err := unix.SysvShmGet(key, 4096, unix.IPC_CREAT|unix.IPC_EXCL|0o600)
	if err != nil {
		t.Fatalf("host shmget: %v", err)
	}
	t.Cleanup(func() { _, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil) })
	keyField := strconv.Itoa(key)
	hostList, _ := os.ReadFile("/proc/sysvipc/shm")
	if !containsField(string(hostList), keyField) {
		t.Fatalf("host /proc/sysvipc/shm lacks key %s: the test cannot see its own segment", keyField)
	}
	b := h.newBundle()
	b.spec.Process.Args = []string{"cat", "/proc/sysvipc/shm"}
	if out := h.runOK(b); containsField(out, keyField) {
		t.Errorf("host segment %s visible inside:\n%s", keyField, out)
	}
}

func containsField(text, field string) bool {
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == field {
			return true
		}
	}
	return false
}

// TestCgroupNamespace: inside a cgroup namespace the container's own
// cgroup is the root of every hierarchy.
func TestCgroupNamespace(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	b.setNamespace(specs.CgroupNamespace, "")
	b.spec.Process.Args = []string{"cat", "/proc/self/cgroup"}
	out := h.runOK(b)
	for _, line := range nonEmptyLines(out) {
		if !strings.HasSuffix(line, ":/") {
			t.Errorf("cgroup line %q is not the namespace root", line)
		}
	}
}

// TestTimeNamespace: boottime and monotonic offsets shift /proc/uptime
// and CLOCK_MONOTONIC inside. runc 1.1.5 does not know the time namespace
// (added in runc 1.2), so this fails on it.
func TestTimeNamespace(t *testing.T) {
	h := newHarness(t)
	const boottime = 10 * 24 * 3600
	b := h.newBundle()
	b.setNamespace(specs.TimeNamespace, "")
	b.spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{
		"boottime":  {Secs: boottime},
		"monotonic": {Secs: 3600},
	}
	b.spec.Process.Args = []string{"cat", "/proc/uptime"}
	before := hostUptime(t)
	out := h.runOK(b)
	after := hostUptime(t)
	f := strings.Fields(out)
	if len(f) == 0 {
		t.Fatalf("no uptime inside: %q", out)
	}
	inside, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		t.Fatalf("uptime inside %q: %v", out, err)
	}
	if inside < before+boottime-1 || inside > after+boottime+1 {
		t.Errorf("uptime inside = %.2f, want host uptime (%.2f..%.2f) + %d", inside, before, after, boottime)
	}
}

func hostUptime(t *testing.T) float64 {
	t.Helper()
	data, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseFloat(strings.Fields(string(data))[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// startHelper starts a long-lived host process (e.g. `unshare --net sleep`,
// or sleep with namespaces from attr)
// whose namespaces a container joins; it is killed at cleanup. It returns
// once the process has exec'd `sleep`, i.e. its namespaces are ready.
func (h *harness) startHelper(attr *syscall.SysProcAttr, argv ...string) int {
	h.t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = attr
	cmd.Env = append(os.Environ(), h.marker)
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("start %q: %v", argv, err)
	}
	// Registered after the harness cleanup, so it runs before it.
	h.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	pid := cmd.Process.Pid
	deadline := time.Now().Add(5 * time.Second)
	for {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err == nil && strings.TrimSpace(string(comm)) == "sleep" {
			return pid
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("helper %q did not reach sleep (comm %q, err %v)", argv, comm, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestJoinNamespacesByPath joins the net, uts and ipc namespaces of a host
// helper process.
func TestJoinNamespacesByPath(t *testing.T) {
	h := newHarness(t)
	pid := strconv.Itoa(h.startHelper(nil, "unshare", "--net", "--uts", "--ipc", "sleep", "1000"))
	b := h.newBundle().shell(nsScript)
	b.spec.Hostname = ""
	for _, name := range []string{"net", "uts", "ipc"} {
		b.setNamespace(nsNames()[name], "/proc/"+pid+"/ns/"+name)
	}
	inside := parseNS(t, h.runOK(b))
	for _, name := range []string{"net", "uts", "ipc"} {
		if want := nsOf(t, pid, name); inside[name] != want {
			t.Errorf("%s namespace inside = %s, want the helper's %s", name, inside[name], want)
		}
	}
	if inside["mnt"] == nsOf(t, "self", "mnt") || inside["pid"] == nsOf(t, "self", "pid") {
		t.Errorf("mount/pid namespaces should still be new: %v", inside)
	}
}

// TestJoinPIDNamespaceOfContainer: a second container joins the pid
// namespace of a running one and sees its init as pid 1.
func TestJoinPIDNamespaceOfContainer(t *testing.T) {
	h := newHarness(t)
	first := h.newBundle()
	first.spec.Process.Args = []string{"sleep", "1000"}
	h.mustCreate(first)
	h.mustStart(first.id)
	st := h.waitStatus(first.id, specs.StateRunning, 5*time.Second)
	pid := strconv.Itoa(st.Pid)

	second := h.newBundle().shell(`readlink /proc/self/ns/pid; cat /proc/1/cmdline | tr '\0' ' '; echo; echo $$`)
	second.setNamespace(specs.PIDNamespace, "/proc/"+pid+"/ns/pid")
	lines := nonEmptyLines(h.runOK(second))
	if len(lines) != 3 {
		t.Fatalf("unexpected output %q", lines)
	}
	if want := nsOf(t, pid, "pid"); lines[0] != want {
		t.Errorf("pid namespace = %s, want the first container's %s", lines[0], want)
	}
	if strings.TrimSpace(lines[1]) != "sleep 1000" {
		t.Errorf("pid 1 seen from the second container runs %q, want the first's init", lines[1])
	}
	if lines[2] == "1" {
		t.Errorf("the joining container's init is pid 1: it did not join")
	}
}

// TestJoinMountNamespace joins the mount namespace of a host helper made
// with `unshare --mount`; the runtime sets the rootfs up inside it.
func TestJoinMountNamespace(t *testing.T) {
	h := newHarness(t)
	pid := strconv.Itoa(h.startHelper(nil, "unshare", "--mount", "--propagation", "private", "sleep", "1000"))
	b := h.newBundle().shell(`readlink /proc/self/ns/mnt; cat /etc/hostname`)
	b.setNamespace(specs.MountNamespace, "/proc/"+pid+"/ns/mnt")
	lines := nonEmptyLines(h.runOK(b))
	if len(lines) != 2 {
		t.Fatalf("unexpected output %q", lines)
	}
	if want := nsOf(t, pid, "mnt"); lines[0] != want {
		t.Errorf("mount namespace = %s, want the helper's %s", lines[0], want)
	}
	if lines[1] != "template" {
		t.Errorf("/etc/hostname = %q: the process does not see its rootfs", lines[1])
	}
}
