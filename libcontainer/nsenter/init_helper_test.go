package nsenter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// initProcess is the embedded program started as a container init: with
// _HUSK_INITSYNC set it runs the C init, after the bootstrap if the
// environment asks for one.
type initProcess struct {
	cmd            *exec.Cmd
	conn           *Conn
	stdout, stderr bytes.Buffer
	// pid is the init's: the started process, or the child it forked.
	pid int
}

type initOptions struct {
	attr *syscall.SysProcAttr
	// env is added to the child's environment (e.g. Request.Env()).
	env []string
	// preserved become fds 3, 4, ...; the sync socket comes after them,
	// then nsFiles.
	preserved, nsFiles []*os.File
	// chroot is the root init runs in (see programOptions).
	chroot string
	// passProgram: see programOptions.
	passProgram bool
}

func startInit(t *testing.T, opts initOptions) *initProcess {
	t.Helper()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	if err := unix.SetNonblock(pair[0], true); err != nil {
		t.Fatal(err)
	}
	parent := os.NewFile(uintptr(pair[0]), "sync-parent")
	child := os.NewFile(uintptr(pair[1]), "sync-child")
	defer child.Close()
	// No request or answer may hang the test.
	if err := parent.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	syncFD := 3 + len(opts.preserved)
	p := &initProcess{conn: NewConn(parent)}
	t.Cleanup(func() { p.conn.Close() })
	p.cmd = startProgram(t, programOptions{
		env:         append([]string{EnvInitSync + "=" + strconv.Itoa(syncFD)}, opts.env...),
		files:       append(append(slices.Clone(opts.preserved), child), opts.nsFiles...),
		attr:        opts.attr,
		chroot:      opts.chroot,
		passProgram: opts.passProgram,
		stdout:      &p.stdout,
		stderr:      &p.stderr,
	})
	p.pid = p.cmd.Process.Pid
	return p
}

// wait waits for init (or what it exec'd) to exit and returns its code.
func (p *initProcess) wait(t *testing.T) int {
	t.Helper()
	return waitProgram(t, p.cmd)
}

// makeRootfs makes a rootfs holding busybox, a non-program /bin/bad, a
// non-executable /bin/noexec and empty /proc, /tmp and /work; it returns
// the directory it is in (for the fifo) and the rootfs path.
func makeRootfs(t *testing.T) (dir, rootfs string) {
	t.Helper()
	dir = t.TempDir()
	rootfs = filepath.Join(dir, "rootfs")
	for _, d := range []string{"", "bin", "proc", "tmp", "work"} {
		if err := os.Mkdir(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bb, err := os.ReadFile(busyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string]struct {
		data []byte
		mode os.FileMode
	}{
		"busybox": {bb, 0o755},
		"bad":     {[]byte("not a program\n"), 0o755},
		"noexec":  {[]byte("#!/bin/busybox sh\n"), 0o644},
	} {
		path := filepath.Join(rootfs, "bin", name)
		if err := os.WriteFile(path, file.data, file.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, file.mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	return dir, rootfs
}

// makeFifo makes exec.fifo as husk create does (0622: the workload's user
// reopens it) and returns it opened O_PATH, as the parent passes it.
func makeFifo(t *testing.T, dir string) (string, *os.File) {
	t.Helper()
	path := filepath.Join(dir, "exec.fifo")
	if err := unix.Mkfifo(path, 0o622); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o622); err != nil {
		t.Fatal(err)
	}
	return path, openPath(t, path)
}

func openPath(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// inInit is path as the init sees it: inside its mount namespace.
func (p *initProcess) inInit(path string) string {
	return fmt.Sprintf("/proc/%d/root%s", p.pid, path)
}

// requirePrivateMounts stops the test before any mount if a mount of the
// init's namespace could propagate to the host.
func requirePrivateMounts(t *testing.T, pid int) {
	t.Helper()
	info, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(info), "\n") {
		if strings.Contains(line, " shared:") {
			t.Fatalf("init's mount namespace has a shared mount, refusing to mount: %s", line)
		}
	}
}

// releaseInit does what `husk start` does: it opens the fifo for reading,
// which completes init's blocked open, and reads until EOF (the exec
// closed init's end). Poll first: before a writer appeared, a
// non-blocking read would return EOF at once.
func releaseInit(t *testing.T, fifoPath string) string {
	t.Helper()
	fd, err := unix.Open(fifoPath, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open %s: %v", fifoPath, err)
	}
	defer unix.Close(fd)
	var out []byte
	buf := make([]byte, 4096)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, 100); err != nil && !errors.Is(err, unix.EINTR) {
			t.Fatalf("poll fifo: %v", err)
		}
		if fds[0].Revents == 0 {
			continue
		}
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("read fifo: %v", err)
		}
		if n == 0 {
			return string(out)
		}
		out = append(out, buf[:n]...)
	}
	t.Fatalf("no EOF on the fifo after 20s; read %q", out)
	return ""
}

// newPty returns a pty master and its peer, as the parent would make them
// from the container's devpts.
func newPty(t *testing.T) (master, peer *os.File) {
	t.Helper()
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	master = os.NewFile(uintptr(m), "ptmx")
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	p, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(m), uintptr(unix.TIOCGPTPEER), uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		t.Fatalf("TIOCGPTPEER: %v", errno)
	}
	peer = os.NewFile(p, "pty-peer")
	t.Cleanup(func() { peer.Close() })
	return master, peer
}

// readPty collects what the workload writes to the terminal until every
// peer is closed (EIO on the master).
func readPty(master *os.File) <-chan string {
	out := make(chan string, 1)
	go func() {
		var b bytes.Buffer
		_, _ = io.Copy(&b, master)
		out <- strings.ReplaceAll(b.String(), "\r\n", "\n")
	}()
	return out
}

func lastCap(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// basePlan runs /bin/busybox true as uid 1000 with no capabilities.
func basePlan(t *testing.T, p *initProcess, rootfs string, fifo *os.File) *ExecPlan {
	t.Helper()
	root, err := os.OpenFile(p.inInit(rootfs), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return &ExecPlan{
		Root: root, Fifo: fifo,
		HasProcess: true,
		UID:        1000, GID: 1000,
		LastCap: lastCap(t),
		Cwd:     "/work",
		Args:    []string{busyboxPath, "true"},
		Env:     []string{"PATH=/bin"},
	}
}

// privateNamespaces is the usual container: new mount (made private by
// Go before the exec), pid and UTS namespaces.
func privateNamespaces() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Cloneflags:   syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS,
		Unshareflags: syscall.CLONE_NEWNS,
	}
}

// userNamespace adds a user namespace mapping 0..65535 to host 100000.
// The child switches to uid and gid 0 there before its exec: it was cloned
// as host root, which is not mapped, and would lose every capability.
func userNamespace(allowSetgroups bool) *syscall.SysProcAttr {
	attr := privateNamespaces()
	ids := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
	attr.Cloneflags |= syscall.CLONE_NEWUSER
	attr.UidMappings, attr.GidMappings = ids, ids
	attr.GidMappingsEnableSetgroups = allowSetgroups
	attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: !allowSetgroups}
	return attr
}
