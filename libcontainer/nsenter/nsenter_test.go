package nsenter

import (
	"encoding/binary"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// mappedUserNS creates a user namespace (plus extra namespaces) in which
// container uid/gid containerID maps to host 100000.
func mappedUserNS(extra uintptr, containerID, size int) *syscall.SysProcAttr {
	ids := []syscall.SysProcIDMap{{ContainerID: containerID, HostID: 100000, Size: size}}
	return &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER | extra, UidMappings: ids, GidMappings: ids}
}

func TestJoinNetworkNamespace(t *testing.T) {
	requireRoot(t)
	holder := startHolder(t, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET})
	netns, netLink := openNamespace(t, holder, "net")
	if netLink == readLink(t, "/proc/self/ns/net") {
		t.Fatal("holder did not get a new network namespace")
	}

	req := Request{SyncFD: helperSyncFD, JoinFDs: []int{helperFirstNS}}
	report := runHelper(t, req.Env(), netns).mustReport(t)

	if report.NS["net"] != netLink {
		t.Errorf("helper is in %s, want %s", report.NS["net"], netLink)
	}
	if len(report.HuskEnv) != 0 {
		t.Errorf("Go code still sees %q; the constructor must unset them", report.HuskEnv)
	}
	if report.FirstNSFD == netLink {
		t.Errorf("fd %d (%s) was not closed after setns", helperFirstNS, netLink)
	}
}

// Joining a mount namespace fails with EINVAL once a process has threads, so
// this passing shows the constructor runs before the Go runtime starts any.
func TestJoinMountNamespace(t *testing.T) {
	requireRoot(t)
	holder := startHolder(t, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS})
	mntns, mntLink := openNamespace(t, holder, "mnt")

	req := Request{SyncFD: helperSyncFD, JoinFDs: []int{helperFirstNS}}
	report := runHelper(t, req.Env(), mntns).mustReport(t)

	if report.NS["mnt"] != mntLink || mntLink == readLink(t, "/proc/self/ns/mnt") {
		t.Errorf("helper is in %s, want the holder's %s", report.NS["mnt"], mntLink)
	}
}

func TestJoinUserAndMountNamespace(t *testing.T) {
	requireRoot(t)
	holder := startHolder(t, mappedUserNS(syscall.CLONE_NEWNS, 0, 65536))
	userns, userLink := openNamespace(t, holder, "user")
	mntns, mntLink := openNamespace(t, holder, "mnt")

	req := Request{SyncFD: helperSyncFD, JoinFDs: []int{helperFirstNS, helperFirstNS + 1}}
	report := runHelper(t, req.Env(), userns, mntns).mustReport(t)

	if report.NS["user"] != userLink || report.NS["mnt"] != mntLink {
		t.Errorf("helper is in %s and %s, want %s and %s", report.NS["user"], report.NS["mnt"], userLink, mntLink)
	}
	if report.UID != 0 || report.GID != 0 {
		t.Errorf("helper runs as uid %d gid %d in the joined user namespace, want root", report.UID, report.GID)
	}
}

func TestUnshareUnderJoinedUserNamespace(t *testing.T) {
	requireRoot(t)
	holder := startHolder(t, mappedUserNS(0, 0, 65536))
	userns, userLink := openNamespace(t, holder, "user")

	req := Request{SyncFD: helperSyncFD, JoinFDs: []int{helperFirstNS}, Unshare: unix.CLONE_NEWUTS}
	report := runHelper(t, req.Env(), userns).mustReport(t)

	// The holder shares our UTS namespace, so new means not ours.
	if report.NS["uts"] == readLink(t, "/proc/self/ns/uts") {
		t.Errorf("helper is still in the UTS namespace %s", report.NS["uts"])
	}
	if report.UTSOwner != userLink {
		t.Errorf("new UTS namespace is owned by %s, want the joined %s", report.UTSOwner, userLink)
	}
}

func TestForkIntoNewPIDNamespace(t *testing.T) {
	requireRoot(t)
	becomeSubreaper(t)

	req := Request{SyncFD: helperSyncFD, Unshare: unix.CLONE_NEWPID, Fork: true}
	run := runHelper(t, req.Env())
	pid := reapReportedChild(t, run)
	report := run.mustReport(t)

	if report.Pid != 1 {
		t.Errorf("forked child (host pid %d) sees itself as pid %d, want 1", pid, report.Pid)
	}
	if report.NS["pid"] == readLink(t, "/proc/self/ns/pid") {
		t.Errorf("forked child is still in our pid namespace %s", report.NS["pid"])
	}
	if len(report.HuskEnv) != 0 {
		t.Errorf("forked child still sees %q", report.HuskEnv)
	}
}

func TestTimeNamespaceOffsets(t *testing.T) {
	requireRoot(t)
	if _, err := os.Stat("/proc/self/timens_offsets"); err != nil {
		t.Skipf("kernel without time namespaces: %v", err)
	}
	becomeSubreaper(t)

	req := Request{
		SyncFD:      helperSyncFD,
		Unshare:     unix.CLONE_NEWTIME,
		Fork:        true,
		TimeOffsets: "monotonic 5 0\nboottime 10 0\n",
	}
	run := runHelper(t, req.Env())
	reapReportedChild(t, run)
	report := run.mustReport(t)

	if report.NS["time"] == readLink(t, "/proc/self/ns/time") {
		t.Errorf("forked child is still in our time namespace %s", report.NS["time"])
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(report.TimensOffsets), "\n") {
		if fields := strings.Fields(line); len(fields) == 3 {
			got[fields[0]] = fields[1] + " " + fields[2]
		}
	}
	if got["monotonic"] != "5 0" || got["boottime"] != "10 0" {
		t.Errorf("timens_offsets are %q, want monotonic 5 0 and boottime 10 0", report.TimensOffsets)
	}
}

// becomeSubreaper makes children orphaned by the helper's intermediate
// process ours, so the test can reap them.
func becomeSubreaper(t *testing.T) {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
	t.Cleanup(func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
}

// reapReportedChild checks that the sync socket got exactly one FramePid
// and reaps that pid, which must have exited 0. Wait4 failing with ECHILD
// would mean the pid is not the forked child.
func reapReportedChild(t *testing.T, run helperRun) int {
	t.Helper()
	typ, payload, err := readFrame(strings.NewReader(run.Sync))
	if err != nil || typ != FramePid {
		t.Fatalf("sync socket got %q (%v), want a pid frame; stderr %q", run.Sync, err, run.Stderr)
	}
	pid, err := decodePid(payload)
	if err != nil {
		t.Fatal(err)
	}
	want := binary.NativeEndian.AppendUint32(nil, 4)
	want = binary.NativeEndian.AppendUint32(want, FramePid)
	want = binary.NativeEndian.AppendUint32(want, uint32(pid))
	if run.Sync != string(want) {
		t.Errorf("sync socket got %q, want exactly %q", run.Sync, want)
	}
	if run.ExitCode != 0 {
		t.Errorf("intermediate process exited %d, want 0", run.ExitCode)
	}
	killTimer := time.AfterFunc(10*time.Second, func() { _ = unix.Kill(pid, unix.SIGKILL) })
	defer killTimer.Stop()
	var status unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &status, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("reap forked child %d: %v", pid, err)
		}
		break
	}
	if !status.Exited() || status.ExitStatus() != 0 {
		t.Errorf("forked child %d ended with status %#x, want exit 0", pid, status)
	}
	return pid
}

// A process that is not a container init keeps the defaults: dumpable and
// its own name. (init_test.go checks the init's side.)
func TestNonInitIsDumpable(t *testing.T) {
	report := runHelper(t, nil).mustReport(t)
	if report.Dumpable != 1 {
		t.Errorf("dumpable = %d, want 1", report.Dumpable)
	}
	if report.Comm == "husk:init" {
		t.Errorf("comm = %q", report.Comm)
	}
}
