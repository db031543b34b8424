package nsenter

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

const pingGroupRange = "sys/net/ipv4/ping_group_range"

// readPingGroupRange reads net.ipv4.ping_group_range as a process in the
// namespaces of nsFiles (fds 4, 5, ...) sees it: the gids are shown in the
// reader's user namespace.
func readPingGroupRange(t *testing.T, nsFiles ...*os.File) string {
	t.Helper()
	return runInNamespaces(t, nsFiles, "cat /proc/"+pingGroupRange)
}

// runInNamespaces runs script with busybox sh in exec mode, joining
// nsFiles, and returns its output with the whitespace made single spaces.
func runInNamespaces(t *testing.T, nsFiles []*os.File, script string) string {
	t.Helper()
	req := Request{SyncFD: -1, Exec: true}
	for i := range nsFiles {
		req.JoinFDs = append(req.JoinFDs, 4+i)
	}
	run := runExecMode(t, req.Env(), nsFiles, busyboxPath, "sh", "-c", script)
	if run.code != 0 || run.stderr != "" {
		t.Fatalf("%s: exit %d, stderr %q", script, run.code, run.stderr)
	}
	return strings.Join(strings.Fields(run.stdout), " ")
}

// TestWriteProcSysctlInUserNamespace: net.ipv4.ping_group_range takes its
// gids in the writer's user namespace. Written by the init, root of the
// container's user namespace (0 is host 100000), "0 0" means the
// container's gid 0; written by a host process it means host gid 0, which
// the container sees as the overflow gid 65534.
func TestWriteProcSysctlInUserNamespace(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	attr := userNamespace(true)
	attr.Cloneflags |= syscall.CLONE_NEWNET
	p := startInit(t, initOptions{attr: attr})
	if err := p.conn.WriteProc(pingGroupRange, "0 0"); err != nil {
		t.Fatalf("WriteProc: %v (init stderr %q)", err, p.stderr.String())
	}
	userns, _ := openNamespace(t, p.pid, "user")
	netns, _ := openNamespace(t, p.pid, "net")
	if got := readPingGroupRange(t, userns, netns); got != "0 0" {
		t.Errorf("inside, the range the init wrote reads %q, want \"0 0\"", got)
	}
	if got := readPingGroupRange(t, netns); got != "100000 100000" {
		t.Errorf("from the host, the range the init wrote reads %q, want \"100000 100000\"", got)
	}

	runInNamespaces(t, []*os.File{netns}, "echo 0 0 > /proc/"+pingGroupRange)
	if got := readPingGroupRange(t, userns, netns); got != "65534 65534" {
		t.Errorf("inside, the range a host process wrote reads %q, want \"65534 65534\"", got)
	}

	// Failures are answered; init carries on.
	for _, tc := range []struct {
		path, value string
		errno       syscall.Errno
		msg         string
	}{
		{pingGroupRange, "1 70000", unix.EINVAL, "write /proc/" + pingGroupRange + ": invalid argument"},
		{"sys/net/ipv4/husk_no_such_sysctl", "1", unix.ENOENT,
			"write /proc/sys/net/ipv4/husk_no_such_sysctl: no such file or directory"},
		// ".." as part of a name is no ".." component.
		{"sys/..x", "1", unix.ENOENT, "write /proc/sys/..x: no such file or directory"},
		// A magic link leads out of the procfs (init's cwd is its root).
		{"self/cwd/" + pingGroupRange, "0 0", unix.ELOOP,
			"write /proc/self/cwd/" + pingGroupRange + ": too many levels of symbolic links"},
		// O_NOFOLLOW: the last component may not be a symlink.
		{"self", "1", unix.ELOOP, "write /proc/self: too many levels of symbolic links"},
	} {
		err := p.conn.WriteProc(tc.path, tc.value)
		var ie *InitError
		if !errors.As(err, &ie) || ie.Msg != tc.msg || !errors.Is(err, tc.errno) {
			t.Errorf("WriteProc(%q, %q) = %v, want %v with message %q", tc.path, tc.value, err, tc.errno, tc.msg)
		}
	}
	// Paths WriteProc refuses itself, sent as they are: init refuses them.
	for _, path := range []string{"", "/proc/sys/net/ipv4/ping_group_range", "..", "../proc/sys", "sys/..", "sys/../../etc/passwd"} {
		payload := []byte(path + "\x000 0\x00")
		if err := p.conn.send(FrameWrite, payload); err != nil {
			t.Fatal(err)
		}
		err := p.conn.recvOK()
		want := fmt.Sprintf("write /proc: path %q is not relative or has \"..\": invalid argument", path)
		var ie *InitError
		if !errors.As(err, &ie) || ie.Msg != want || ie.Errno != unix.EINVAL {
			t.Errorf("write %q: answer %v, want EINVAL and %q", path, err, want)
		}
	}

	if err := p.conn.WriteProc(pingGroupRange, "100 200"); err != nil {
		t.Fatalf("WriteProc after the failures: %v", err)
	}
	if got := readPingGroupRange(t, userns, netns); got != "100 200" {
		t.Errorf("after the failures, the range reads %q, want \"100 200\"", got)
	}
	p.conn.Close()
	if code := p.wait(t); code != 1 || p.stdout.Len() != 0 || p.stderr.Len() != 0 {
		t.Errorf("init exited %d, stdout %q, stderr %q after EOF; want 1 and nothing", code, p.stdout.String(), p.stderr.String())
	}
}

// TestWriteProcFrame: the frame WriteProc sends, the answers it returns,
// and the paths it refuses without asking init.
func TestWriteProcFrame(t *testing.T) {
	parent, initFD := socketPair(t)
	conn := NewConn(parent)
	fakeSend(t, initFD, frameBytes(FrameOK, nil)) // started

	for _, path := range []string{"", "/proc/sys/x", "..", "sys/../x", "sys/.."} {
		if err := conn.WriteProc(path, "1"); !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "not relative") {
			t.Errorf("WriteProc(%q) = %v, want EINVAL", path, err)
		}
	}
	if err := conn.WriteProc("sys/x", "a\x00b"); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Errorf("value with a NUL byte: %v, want an error", err)
	}

	const msg = "write /proc/sys/x: no such file or directory"
	for _, tc := range []struct {
		answer []byte
		check  func(error) bool
	}{
		{frameBytes(FrameOK, nil), func(err error) bool { return err == nil }},
		{frameBytes(FrameError, errorPayload(int32(unix.ENOENT), msg)), func(err error) bool {
			return errors.Is(err, unix.ENOENT) && err.Error() == msg
		}},
	} {
		errc := make(chan error, 1)
		go func() { errc <- conn.WriteProc("sys/x", "1 2") }()
		// The refused paths sent nothing: this is the first frame.
		fr := fakeRecv(t, initFD)
		if fr.typ != FrameWrite || !bytes.Equal(fr.payload, []byte("sys/x\x001 2\x00")) || len(fr.fds) != 0 {
			t.Errorf("got frame %d %q with %d fds, want %d \"sys/x\\x001 2\\x00\" and none", fr.typ, fr.payload, len(fr.fds), FrameWrite)
		}
		fakeSend(t, initFD, tc.answer)
		if err := <-errc; !tc.check(err) {
			t.Errorf("answer %q: WriteProc returned %v", tc.answer, err)
		}
	}
}
