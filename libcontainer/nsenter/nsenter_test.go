package nsenter

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The bootstrap's namespace work, seen by a shell it execs (exec mode):
// the shell prints its namespaces, ids, environment and fds.

func TestJoinNetworkNamespace(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	holder := startHolder(t, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET})
	netns, netLink := openNamespace(t, holder, "net")
	if netLink == readLink(t, "/proc/self/ns/net") {
		t.Fatal("holder did not get a new network namespace")
	}

	req := Request{SyncFD: -1, JoinFDs: []int{4}}
	run, report := shellReport(t, req, programOptions{files: []*os.File{netns}}, reportScript)

	checkCleanExec(t, run, report, netLink)
	if got := one(t, report, "ns.net"); got != netLink {
		t.Errorf("program is in %s, want %s", got, netLink)
	}
}

// Joining a mount namespace needs a single-threaded process, which is why
// the bootstrap is C.
func TestJoinMountNamespace(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	holder := startHolder(t, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS})
	mntns, mntLink := openNamespace(t, holder, "mnt")

	req := Request{SyncFD: -1, JoinFDs: []int{4}}
	run, report := shellReport(t, req, programOptions{files: []*os.File{mntns}}, reportScript)

	checkCleanExec(t, run, report, mntLink)
	if got := one(t, report, "ns.mnt"); got != mntLink || mntLink == readLink(t, "/proc/self/ns/mnt") {
		t.Errorf("program is in %s, want the holder's %s", got, mntLink)
	}
}

func TestJoinUserAndMountNamespace(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	holder := startHolder(t, mappedUserNS(syscall.CLONE_NEWNS, 0, 65536))
	userns, userLink := openNamespace(t, holder, "user")
	mntns, mntLink := openNamespace(t, holder, "mnt")

	req := Request{SyncFD: -1, JoinFDs: []int{4, 5}}
	run, report := shellReport(t, req, programOptions{files: []*os.File{userns, mntns}}, reportScript)

	checkCleanExec(t, run, report, userLink, mntLink)
	if user, mnt := one(t, report, "ns.user"), one(t, report, "ns.mnt"); user != userLink || mnt != mntLink {
		t.Errorf("program is in %s and %s, want %s and %s", user, mnt, userLink, mntLink)
	}
	if uid, gid := one(t, report, "uid"), one(t, report, "gid"); uid != "0" || gid != "0" {
		t.Errorf("program runs as uid %s gid %s in the joined user namespace, want root", uid, gid)
	}
}

// A namespace unshared after joining a user namespace belongs to it: root
// of the joined namespace may change the new UTS namespace's hostname,
// which it could not if the host's user namespace owned it.
func TestUnshareUnderJoinedUserNamespace(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	holder := startHolder(t, mappedUserNS(0, 0, 65536))
	userns, userLink := openNamespace(t, holder, "user")

	req := Request{SyncFD: -1, JoinFDs: []int{4}, Unshare: unix.CLONE_NEWUTS}
	script := reportScript + "hostname husk-owned-uts && echo hostname=$(hostname)\n"
	run, report := shellReport(t, req, programOptions{files: []*os.File{userns}}, script)

	checkCleanExec(t, run, report, userLink)
	// The holder shares our UTS namespace, so new means not ours.
	if got := one(t, report, "ns.uts"); got == readLink(t, "/proc/self/ns/uts") {
		t.Errorf("program is still in the UTS namespace %s", got)
	}
	if got := one(t, report, "ns.user"); got != userLink {
		t.Errorf("program is in user namespace %s, want %s", got, userLink)
	}
	if got := one(t, report, "hostname"); got != "husk-owned-uts" {
		t.Errorf("hostname in the new UTS namespace is %q, want husk-owned-uts", got)
	}
	if now, err := os.Hostname(); err != nil || now != hostname {
		t.Errorf("the host's hostname changed from %q to %q (%v)", hostname, now, err)
	}
}

// In exec mode the forking bootstrap waits for the program, and reports
// no pid on the sync socket: the process husk started stays the one to
// wait for.
func TestForkIntoNewPIDNamespace(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	req := Request{SyncFD: 3, Unshare: unix.CLONE_NEWPID, Fork: true}
	run, report := shellReport(t, req, programOptions{}, reportScript)

	checkCleanExec(t, run, report)
	if got := one(t, report, "pid"); got != "1" {
		t.Errorf("forked program sees itself as pid %s, want 1", got)
	}
	if got := one(t, report, "ns.pid"); got == readLink(t, "/proc/self/ns/pid") {
		t.Errorf("forked program is still in our pid namespace %s", got)
	}
	if run.sync != "" {
		t.Errorf("sync socket got %q; exec mode reports no pid", run.sync)
	}
}

func TestTimeNamespaceOffsets(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	if _, err := os.Stat("/proc/self/timens_offsets"); err != nil {
		t.Skipf("kernel without time namespaces: %v", err)
	}
	req := Request{
		SyncFD:      -1,
		Unshare:     unix.CLONE_NEWTIME,
		Fork:        true,
		TimeOffsets: "monotonic 5 0\nboottime 10 0\n",
	}
	before := uptime(t)
	run, report := shellReport(t, req, programOptions{}, reportScript+"echo uptime=$(cut -d' ' -f1 /proc/uptime)\n")
	after := uptime(t)

	checkCleanExec(t, run, report)
	if got := one(t, report, "ns.time"); got == readLink(t, "/proc/self/ns/time") {
		t.Errorf("forked program is still in our time namespace %s", got)
	}
	got := map[string]string{}
	for _, line := range report["timens"] {
		if fields := strings.Fields(line); len(fields) == 3 {
			got[fields[0]] = fields[1] + " " + fields[2]
		}
	}
	if got["monotonic"] != "5 0" || got["boottime"] != "10 0" {
		t.Errorf("timens_offsets are %q, want monotonic 5 0 and boottime 10 0", report["timens"])
	}
	// /proc/uptime is the boot time clock: 10 s ahead in there. It has
	// centiseconds, hence the slack.
	inside, err := strconv.ParseFloat(one(t, report, "uptime"), 64)
	if err != nil {
		t.Fatal(err)
	}
	if inside < before+10-0.02 || inside > after+10+0.02 {
		t.Errorf("uptime in the time namespace is %.2f, want 10 s more than the host's %.2f..%.2f", inside, before, after)
	}
}

// The bootstrap of an init does its work before init starts: the started
// frame comes from an init in the joined and unshared namespaces, with the
// namespace fd closed.
func TestInitJoinsBeforeStarting(t *testing.T) {
	requireRoot(t)
	holder := startHolder(t, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET})
	netns, netLink := openNamespace(t, holder, "net")
	req := Request{SyncFD: 3, JoinFDs: []int{4}, Unshare: unix.CLONE_NEWUTS}
	p := startInit(t, initOptions{env: req.Env(), nsFiles: []*os.File{netns}})
	if err := p.conn.WaitStarted(); err != nil {
		t.Fatalf("WaitStarted: %v (stderr %q)", err, p.stderr.String())
	}
	if got := readLink(t, fmt.Sprintf("/proc/%d/ns/net", p.pid)); got != netLink {
		t.Errorf("init is in %s, want %s", got, netLink)
	}
	if got := readLink(t, fmt.Sprintf("/proc/%d/ns/uts", p.pid)); got == readLink(t, "/proc/self/ns/uts") {
		t.Errorf("init is still in our UTS namespace %s", got)
	}
	if got, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/4", p.pid)); err == nil && got == netLink {
		t.Errorf("fd 4 (%s) was not closed after setns", netLink)
	}
	p.conn.Close()
	if code := p.wait(t); code != 1 || p.stdout.Len() != 0 || p.stderr.Len() != 0 {
		t.Errorf("init exited %d, stdout %q, stderr %q after EOF; want 1 and nothing", code, p.stdout.String(), p.stderr.String())
	}
}

func uptime(t *testing.T) float64 {
	t.Helper()
	data, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	secs, err := strconv.ParseFloat(strings.Fields(string(data))[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	return secs
}

// mappedUserNS creates a user namespace (plus extra namespaces) in which
// container uid/gid containerID maps to host 100000.
func mappedUserNS(extra uintptr, containerID, size int) *syscall.SysProcAttr {
	ids := []syscall.SysProcIDMap{{ContainerID: containerID, HostID: 100000, Size: size}}
	return &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER | extra, UidMappings: ids, GidMappings: ids}
}

// startHolder starts a sleeping process with attr (new namespaces) and
// returns its pid; it is killed and reaped when the test ends, and its
// namespaces go away with it and the fds the test opened.
func startHolder(t *testing.T, attr *syscall.SysProcAttr) int {
	t.Helper()
	cmd := exec.Command("sleep", "infinity")
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start namespace holder: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd.Process.Pid
}

// openNamespace opens /proc/<pid>/ns/<name>, closed when the test ends.
func openNamespace(t *testing.T, pid int, name string) (*os.File, string) {
	t.Helper()
	path := fmt.Sprintf("/proc/%d/ns/%s", pid, name)
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { f.Close() })
	return f, readLink(t, path)
}

func readLink(t *testing.T, path string) string {
	t.Helper()
	link, err := os.Readlink(path)
	if err != nil {
		t.Fatalf("readlink %s: %v", path, err)
	}
	return link
}

// becomeSubreaper makes children orphaned by a forking bootstrap ours, so
// the test can reap them.
func becomeSubreaper(t *testing.T) {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
	t.Cleanup(func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
}
