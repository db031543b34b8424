package procfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// childEnv marks the re-executed test binary that runs inside new mount and
// pid namespaces.
const childEnv = "HUSK_PROCFS_TEST_CHILD"

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create namespaces and mounts")
	}
}

// runInChild re-executes the current test in a child with a private mount
// namespace and its own pid namespace, and fails if the child test fails.
func runInChild(t *testing.T) {
	t.Helper()
	requireRoot(t)
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
		Pdeathsig:  syscall.SIGKILL,
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("child test failed (%v):\n%s", err, out)
	}
}

// enterPrivateMounts is the first thing a child does: nothing it mounts may
// propagate back to the host.
func enterPrivateMounts(t *testing.T) {
	t.Helper()
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		t.Fatalf("make / rprivate: %v", err)
	}
}

type opener struct {
	name string
	open func() (int, error)
}

func allOpeners() []opener {
	return []opener{
		{"new instance", openNewInstance},
		{"clone", openClone},
		{"host /proc", openHostProc},
	}
}

func handleFrom(t *testing.T, o opener) *Handle {
	t.Helper()
	fd, err := o.open()
	if err != nil {
		t.Fatalf("%s: %v", o.name, err)
	}
	if err := verifyProcRoot(fd); err != nil {
		unix.Close(fd)
		t.Fatalf("%s: %v", o.name, err)
	}
	h := &Handle{root: os.NewFile(uintptr(fd), o.name)}
	t.Cleanup(func() { h.Close() })
	return h
}

func TestOpenReturnsProcRoot(t *testing.T) {
	requireRoot(t)
	h, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	fd := int(h.root.Fd())
	if err := verifyProcRoot(fd); err != nil {
		t.Fatal(err)
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Fatalf("handle is not close-on-exec (flags %#x, err %v)", flags, err)
	}
	for _, o := range allOpeners() {
		handleFrom(t, o)
	}
}

func TestVerifyProcRootRejectsOthers(t *testing.T) {
	for _, path := range []string{t.TempDir(), "/proc/sys", "/proc/self"} {
		fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := verifyProcRoot(fd); err == nil {
			t.Errorf("%s accepted as a procfs root", path)
		}
		unix.Close(fd)
	}
}

func TestHandleOpenStaysInProcfs(t *testing.T) {
	requireRoot(t)
	for _, o := range allOpeners() {
		h := handleFrom(t, o)
		f, err := h.Open("self/status", unix.O_RDONLY)
		if err != nil {
			t.Fatalf("%s: open self/status: %v", o.name, err)
		}
		f.Close()
		refused := map[string]error{
			"self/fd/0":        unix.ELOOP, // magic link
			"self/exe":         unix.ELOOP,
			"self/root/etc":    unix.ELOOP,
			"../etc/passwd":    unix.EXDEV, // escapes the root
			"/etc/passwd":      unix.EXDEV,
			"sys/../../etc":    unix.EXDEV,
			"does-not-exist/x": unix.ENOENT,
		}
		for path, want := range refused {
			f, err := h.Open(path, unix.O_RDONLY)
			if err == nil {
				f.Close()
				t.Errorf("%s: Open(%q) succeeded", o.name, path)
				continue
			}
			if !errors.Is(err, want) {
				t.Errorf("%s: Open(%q) = %v, want %v", o.name, path, err, want)
			}
		}
	}
}

// TestNewInstanceIsDetached checks the preferred handle is on no mount point
// of the namespace, so nothing can be mounted over its files.
func TestNewInstanceIsDetached(t *testing.T) {
	requireRoot(t)
	h := handleFrom(t, opener{"new instance", openNewInstance})
	var stx unix.Statx_t
	if err := unix.Statx(int(h.root.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &stx); err != nil {
		t.Fatal(err)
	}
	mounts, err := mountinfo.GetMounts(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mounts {
		if uint64(m.ID) == stx.Mnt_id {
			t.Fatalf("new procfs instance is attached at %s", m.Mountpoint)
		}
	}
}

// TestFdPathAndMountCrossing runs in a private mount namespace: it mounts
// through FdPath with every kind of handle, and checks that a mount covering
// part of /proc is never crossed by Handle.Open.
func TestFdPathAndMountCrossing(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		runInChild(t)
		return
	}
	enterPrivateMounts(t)
	for i, o := range allOpeners() {
		h := handleFrom(t, o)
		dir := filepath.Join(t.TempDir(), strconv.Itoa(i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		target, err := os.OpenFile(dir, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		path := h.FdPath(int(target.Fd()))
		if err := unix.Mount("tmpfs", path, "tmpfs", 0, "size=64k"); err != nil {
			t.Fatalf("%s: mount tmpfs on %s: %v", o.name, path, err)
		}
		target.Close()
		t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
		mounted, err := mountinfo.Mounted(dir)
		if err != nil || !mounted {
			t.Fatalf("%s: tmpfs mounted through FdPath is not at %s (err %v)", o.name, dir, err)
		}
	}

	// Cover /proc/sys/kernel as an attacker with mount rights would.
	if err := unix.Mount("tmpfs", "/proc/sys/kernel", "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/proc/sys/kernel/ostype", []byte("fake"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, o := range allOpeners() {
		h := handleFrom(t, o)
		f, err := h.Open("sys/kernel/ostype", unix.O_RDONLY)
		if o.name == "host /proc" {
			if !errors.Is(err, unix.EXDEV) {
				t.Errorf("%s: crossing the covering mount: err = %v, want EXDEV", o.name, err)
			}
			if f != nil {
				f.Close()
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", o.name, err)
		}
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil || string(data) != "Linux\n" {
			t.Errorf("%s: read %q (err %v), want the real ostype", o.name, data, err)
		}
	}
}

func TestWriteFile(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		runInChild(t)
		return
	}
	h, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.WriteFile("self/oom_score_adj", []byte("123")); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil || strings.TrimSpace(string(data)) != "123" {
		t.Fatalf("oom_score_adj = %q (err %v), want 123", data, err)
	}
	err = h.WriteFile("self/fd/1", []byte("x"))
	if !errors.Is(err, unix.ELOOP) {
		t.Fatalf("WriteFile through a magic link: %v, want ELOOP", err)
	}
	// The child is pid 1 of its pid namespace: the private instance must
	// show that namespace, not the host's.
	f, err := h.Open("self/stat", unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var pid int
	if _, err := fmt.Fscan(f, &pid); err != nil || pid != 1 {
		t.Fatalf("self/stat pid = %d (err %v), want 1", pid, err)
	}
}

func TestReopenFollowsTheFdNotThePath(t *testing.T) {
	h, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	opath, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(opath)
	// The file is renamed away: a path-based reopen would fail, the fd
	// still names the file.
	if err := os.Rename(path, path+".moved"); err != nil {
		t.Fatal(err)
	}
	f, err := h.Reopen(opath, unix.O_RDONLY)
	if err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil || string(data) != "data" {
		t.Fatalf("read reopened file: %q, %v", data, err)
	}
}

// TestOpenOwnSurvivesJoiningAnotherMountNamespace: OpenOwn refuses a /proc
// of another pid namespace and a read-only one; a Handle from it, opened
// before the calling thread moves to another mount namespace whose /proc
// is replaced, still reads the original procfs.
func TestOpenOwnSurvivesJoiningAnotherMountNamespace(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		runInChild(t)
		return
	}
	enterPrivateMounts(t)
	// This child is in a new pid namespace under the host's /proc, whose
	// <pid> directories are other processes: refused.
	if h, err := OpenOwn(); err == nil {
		h.Close()
		t.Fatal("OpenOwn accepted the /proc of another pid namespace")
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		t.Fatalf("mount a read-only procfs: %v", err)
	}
	if h, err := OpenOwn(); err == nil || !strings.Contains(err.Error(), "read-only") {
		if h != nil {
			h.Close()
		}
		t.Fatalf("OpenOwn of a read-only /proc: err = %v, want a refusal", err)
	}
	if err := unix.Mount("", "/proc", "", unix.MS_REMOUNT|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		t.Fatalf("remount /proc read-write: %v", err)
	}
	h, err := OpenOwn()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	flags, err := unix.FcntlInt(h.root.Fd(), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Fatalf("handle is not close-on-exec (flags %#x, err %v)", flags, err)
	}
	if err := verifyProcRoot(int(h.root.Fd())); err != nil {
		t.Fatal(err)
	}

	errc := make(chan error, 1)
	go func() {
		// This thread is never given back: it ends in another mount
		// namespace.
		runtime.LockOSThread()
		errc <- func() error {
			if err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWNS); err != nil {
				return fmt.Errorf("unshare: %w", err)
			}
			if err := unix.Mount("tmpfs", "/proc", "tmpfs", 0, "size=64k"); err != nil {
				return fmt.Errorf("cover /proc: %w", err)
			}
			if _, err := os.Stat("/proc/self/status"); err == nil {
				return errors.New("/proc is still a procfs in the new namespace")
			}
			f, err := h.Open("thread-self/status", unix.O_RDONLY)
			if err != nil {
				return fmt.Errorf("through the handle: %w", err)
			}
			defer f.Close()
			data, err := io.ReadAll(f)
			if err != nil || !strings.HasPrefix(string(data), "Name:") {
				return fmt.Errorf("read %q through the handle (err %v)", data, err)
			}
			return nil
		}()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
