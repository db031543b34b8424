package rootfs

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/huskrt/husk/libcontainer/configs"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

const (
	// childEnv holds the stage a re-executed test binary is at; empty in
	// the test process started by `go test`.
	childEnv = "HUSK_ROOTFS_TEST_STAGE"
	// dataEnv passes the parent's fixture directory to the child.
	dataEnv = "HUSK_ROOTFS_TEST_DATA"
)

func childStage() string { return os.Getenv(childEnv) }

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create namespaces and mounts")
	}
}

type childOptions struct {
	stage    string
	userns   bool
	cgroupns bool
	data     string
}

// runChild re-executes the current test in a child with new mount, pid,
// ipc and uts namespaces (and, if asked, a cgroup namespace and a user
// namespace mapping root to root), and fails unless the child's test passes. It also fails if the
// calling process's mount table differs afterwards: whatever the child
// mounts must stay in its namespace.
func runChild(t *testing.T, opts childOptions) {
	t.Helper()
	requireRoot(t)
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+opts.stage, dataEnv+"="+opts.data)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS,
		Pdeathsig:  syscall.SIGKILL,
	}
	if opts.cgroupns {
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWCGROUP
	}
	if opts.userns {
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
	}
	before := mountTable(t)
	out, err := cmd.CombinedOutput()
	after := mountTable(t)
	t.Logf("child (stage %s) output:\n%s", opts.stage, out)
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("child (stage %s) failed (%v):\n%s", opts.stage, err, out)
	}
	if before != after {
		t.Fatalf("mount table changed by the child:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func mountTable(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// enterPrivateMounts is the first thing a child does, so that nothing it
// mounts can propagate out of its namespace.
func enterPrivateMounts(t *testing.T) {
	t.Helper()
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		t.Fatalf("make / rprivate: %v", err)
	}
}

// buildRootfs makes a minimal busybox root filesystem under dir.
func buildRootfs(t *testing.T, dir string) string {
	t.Helper()
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("needs a static /bin/busybox (busybox-static): %v", err)
	}
	rootfs := filepath.Join(dir, "rootfs")
	for _, sub := range []string{"bin", "etc", "proc", "sys", "dev", "tmp"} {
		mustMkdir(t, filepath.Join(rootfs, sub))
	}
	mustWrite(t, filepath.Join(rootfs, "bin/busybox"), string(busybox), 0o755)
	for _, applet := range []string{"sh", "cat", "ls", "stat", "touch"} {
		mustSymlink(t, "busybox", filepath.Join(rootfs, "bin", applet))
	}
	return rootfs
}

// fixtureDir is a host directory the parent prepares and the child uses.
func fixtureDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv(dataEnv); childStage() != "" {
		return dir
	}
	dir := t.TempDir()
	// t.TempDir is 0700; the rootfs must be reachable by anyone.
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// defaultMounts are the mounts of runc's default spec.
func defaultMounts() []configs.Mount {
	const nosuidNoexecNodev = unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV
	return []configs.Mount{
		{Source: "proc", Destination: "/proc", Type: "proc", Flags: nosuidNoexecNodev},
		{Source: "tmpfs", Destination: "/dev", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k"},
		{Source: "devpts", Destination: "/dev/pts", Type: "devpts", Flags: unix.MS_NOSUID | unix.MS_NOEXEC, Data: "newinstance,ptmxmode=0666,mode=0620"},
		{Source: "shm", Destination: "/dev/shm", Type: "tmpfs", Flags: nosuidNoexecNodev, Data: "mode=1777,size=65536k"},
		{Source: "mqueue", Destination: "/dev/mqueue", Type: "mqueue", Flags: nosuidNoexecNodev},
		{Source: "sysfs", Destination: "/sys", Type: "sysfs", Flags: nosuidNoexecNodev | unix.MS_RDONLY},
		{Source: "cgroup", Destination: "/sys/fs/cgroup", Type: "cgroup", Flags: nosuidNoexecNodev | unix.MS_RELATIME | unix.MS_RDONLY},
	}
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, file, data string, mode os.FileMode) {
	t.Helper()
	mustMkdir(t, filepath.Dir(file))
	if err := os.WriteFile(file, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, dest, link string) {
	t.Helper()
	mustMkdir(t, filepath.Dir(link))
	if err := os.Symlink(dest, link); err != nil {
		t.Fatal(err)
	}
}

// mountAt returns the topmost mount at mountpoint in the current mount
// namespace, or nil.
func mountAt(t *testing.T, mountpoint string) *mountinfo.Info {
	t.Helper()
	mounts, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(mountpoint))
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) == 0 {
		return nil
	}
	return mounts[len(mounts)-1]
}

// requireMount checks that a mount of fsType is at mountpoint and that its
// per-mount options include every one of options.
func requireMount(t *testing.T, mountpoint, fsType string, options ...string) *mountinfo.Info {
	t.Helper()
	m := mountAt(t, mountpoint)
	if m == nil {
		t.Fatalf("nothing mounted at %s", mountpoint)
	}
	if fsType != "" && m.FSType != fsType {
		t.Errorf("%s: filesystem %s, want %s", mountpoint, m.FSType, fsType)
	}
	have := strings.Split(m.Options, ",")
	for _, o := range options {
		if !slices.Contains(have, o) {
			t.Errorf("%s: options %s lack %s", mountpoint, m.Options, o)
		}
	}
	return m
}

func requireNotMounted(t *testing.T, mountpoint string) {
	t.Helper()
	if m := mountAt(t, mountpoint); m != nil {
		t.Errorf("%s unexpectedly has a %s mount", mountpoint, m.FSType)
	}
}

func requireEROFS(t *testing.T, file string) {
	t.Helper()
	err := os.WriteFile(file, []byte("x"), 0o644)
	if !errors.Is(err, unix.EROFS) {
		t.Errorf("writing %s: %v, want EROFS", file, err)
	}
}

func requireEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("%s is not empty: %d entries", dir, len(entries))
	}
}

func requireDevice(t *testing.T, file string, fileType uint32, major, minor uint32, perm uint32, uid, gid uint32) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(file, &st); err != nil {
		t.Fatal(err)
	}
	got := [5]uint32{st.Mode & unix.S_IFMT, unix.Major(st.Rdev), unix.Minor(st.Rdev), st.Mode & 0o7777, st.Uid}
	want := [5]uint32{fileType, major, minor, perm, uid}
	if got != want || st.Gid != gid {
		t.Errorf("%s: (type, major, minor, perm, uid) = %o gid %d, want %o gid %d", file, got, st.Gid, want, gid)
	}
}

func readFile(t *testing.T, file string) string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	return string(data)
}
