package rootfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/huskrt/husk/libcontainer/configs"
	"github.com/huskrt/husk/libcontainer/procfs"
	"golang.org/x/sys/unix"
)

// setUpContainer runs the init's sequence: procfs.Open, Prepare, Enter,
// Finish.
func setUpContainer(t *testing.T, cfg *configs.Config) *procfs.Handle {
	t.Helper()
	proc, err := procfs.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := Prepare(cfg, Options{Proc: proc}); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if err := Enter(cfg); err != nil {
		t.Fatalf("Enter: %v", err)
	}
	if err := Finish(cfg, proc); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	return proc
}

func bindMount(source, dest string, flags uintptr) configs.Mount {
	return configs.Mount{Source: source, Destination: dest, Type: "bind", Flags: unix.MS_BIND | unix.MS_REC | flags}
}

// prepareImage adds to a fresh rootfs what the container tests mask and
// protect, and a host volume to bind.
func prepareImage(t *testing.T, data string) {
	t.Helper()
	rootfs := buildRootfs(t, data)
	mustWrite(t, filepath.Join(data, "volume/data"), "volume data", 0o644)
	mustWrite(t, filepath.Join(data, "hostname"), "husk-test\n", 0o644)
	mustWrite(t, filepath.Join(rootfs, "secret/key"), "secret", 0o600)
	mustWrite(t, filepath.Join(rootfs, "secret-file"), "secret", 0o600)
	mustMkdir(t, filepath.Join(rootfs, "ro-dir"))
}

func containerConfig(data string) *configs.Config {
	return &configs.Config{
		Rootfs:         filepath.Join(data, "rootfs"),
		ReadonlyRootfs: true,
		Mounts: append(defaultMounts(),
			bindMount(filepath.Join(data, "volume"), "/data", unix.MS_RDONLY),
			bindMount(filepath.Join(data, "hostname"), "/etc/hostname", 0),
		),
		Devices: []configs.Device{
			{Path: "/dev/custom-zero", Type: 'c', Major: 1, Minor: 5, FileMode: 0o600, UID: 1000, GID: 1001},
		},
		MaskedPaths:   []string{"/proc/kcore", "/proc/acpi", "/secret", "/secret-file", "/does/not/exist"},
		ReadonlyPaths: []string{"/proc/sys", "/ro-dir", "/missing"},
	}
}

// checkContainer checks, from inside the container, what containerConfig
// asks for that does not depend on the user namespace.
func checkContainer(t *testing.T) {
	t.Helper()
	requireMount(t, "/", "", "ro")
	requireMount(t, "/proc", "proc", "nosuid", "nodev", "noexec")
	requireMount(t, "/dev", "tmpfs", "nosuid")
	requireMount(t, "/dev/pts", "devpts", "nosuid", "noexec")
	requireMount(t, "/dev/shm", "tmpfs", "nosuid", "nodev", "noexec")
	requireMount(t, "/dev/mqueue", "mqueue")
	requireMount(t, "/sys", "", "ro", "nosuid", "nodev", "noexec")
	requireMount(t, "/sys/fs/cgroup", "", "ro")

	// The process's own cgroup is visible, read-only.
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, "/proc/self/cgroup")), "\n") {
		fields := strings.SplitN(line, ":", 3)
		if fields[1] != "memory" {
			continue
		}
		requireMount(t, "/sys/fs/cgroup/memory", "cgroup", "ro")
		if procs := readFile(t, "/sys/fs/cgroup/memory/cgroup.procs"); !strings.Contains("\n"+procs, "\n1\n") {
			t.Errorf("/sys/fs/cgroup/memory is not the container's cgroup: cgroup.procs = %q", procs)
		}
		requireEROFS(t, "/sys/fs/cgroup/memory/new")
	}

	requireMount(t, "/data", "", "ro")
	if got := readFile(t, "/data/data"); got != "volume data" {
		t.Errorf("/data/data = %q", got)
	}
	requireEROFS(t, "/data/new")
	if got := readFile(t, "/etc/hostname"); got != "husk-test\n" {
		t.Errorf("/etc/hostname = %q", got)
	}
	if err := os.WriteFile("/dev/shm/x", []byte("x"), 0o644); err != nil {
		t.Errorf("/dev/shm is not writable: %v", err)
	}

	for link, want := range map[string]string{
		"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0", "/dev/stdout": "/proc/self/fd/1",
		"/dev/stderr": "/proc/self/fd/2", "/dev/ptmx": "pts/ptmx",
	} {
		if got, err := os.Readlink(link); err != nil || got != want {
			t.Errorf("%s -> %q (%v), want %q", link, got, err, want)
		}
	}

	// Masked paths.
	requireMount(t, "/secret", "tmpfs", "ro")
	requireEmptyDir(t, "/secret")
	requireEROFS(t, "/secret/new")
	for _, masked := range []string{"/secret-file", "/proc/kcore"} {
		if _, err := os.Stat(masked); os.IsNotExist(err) {
			continue
		}
		if got := readFile(t, masked); got != "" {
			t.Errorf("masked %s reads %d bytes", masked, len(got))
		}
	}
	// Read-only paths.
	requireMount(t, "/proc/sys", "proc", "ro", "nosuid", "nodev", "noexec")
	requireEROFS(t, "/proc/sys/kernel/hostname")
	requireMount(t, "/ro-dir", "", "ro", "nosuid", "nodev", "noexec")
	requireEROFS(t, "/ro-dir/new")
	requireEROFS(t, "/new-file-in-root")

	// The busybox of the image runs and sees the same thing.
	out, err := exec.Command("/bin/cat", "/secret-file", "/data/data").CombinedOutput()
	if err != nil || string(out) != "volume data" {
		t.Errorf("busybox cat in the container: %q (%v)", out, err)
	}
}

func TestContainerFilesystem(t *testing.T) {
	data := fixtureDir(t)
	if childStage() == "" {
		prepareImage(t, data)
		runChild(t, childOptions{stage: "container", data: data})
		return
	}
	enterPrivateMounts(t)
	setUpContainer(t, containerConfig(data))
	checkContainer(t)
	if _, err := os.Stat(data); err == nil {
		t.Errorf("host path %s still reachable after pivot_root", data)
	}
	for _, name := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		var major, minor uint32 = 1, map[string]uint32{"null": 3, "zero": 5, "full": 7, "random": 8, "urandom": 9}[name]
		if name == "tty" {
			major = 5
		}
		requireDevice(t, "/dev/"+name, unix.S_IFCHR, major, minor, 0o666, 0, 0)
	}
	requireDevice(t, "/dev/custom-zero", unix.S_IFCHR, 1, 5, 0o600, 1000, 1001)
	// /dev/core is made only when the kernel's kcore can be opened
	// through the private procfs (not on every kernel config): when it
	// exists it must point at /proc/kcore, and without kcore it must not.
	got, err := os.Readlink("/dev/core")
	if _, kerr := os.Stat("/proc/kcore"); kerr != nil && err == nil {
		t.Errorf("/dev/core -> %q although there is no /proc/kcore", got)
	}
	if err == nil && got != "/proc/kcore" {
		t.Errorf("/dev/core -> %q, want /proc/kcore", got)
	}
}

// TestContainerFilesystemInUserNamespace sets the same container up in a
// user namespace, where mounts inherited from the parent namespace have
// locked flags, mknod of devices is refused and sysfs cannot be mounted
// without a network namespace.
func TestContainerFilesystemInUserNamespace(t *testing.T) {
	data := fixtureDir(t)
	lockedVolume := filepath.Join(data, "locked-volume")
	switch childStage() {
	case "":
		prepareImage(t, data)
		mustMkdir(t, lockedVolume)
		runChild(t, childOptions{stage: "volume", data: data})
	case "volume":
		// A nosuid,nodev,noexec mount made outside the user namespace: its
		// flags are locked inside.
		enterPrivateMounts(t)
		// Go writes the next child's uid_map through /proc/<pid>: /proc
		// must show this pid namespace.
		if err := unix.Mount("proc", "/proc", "proc", 0, ""); err != nil {
			t.Fatal(err)
		}
		err := unix.Mount("tmpfs", lockedVolume, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=1m")
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(lockedVolume, "file"), "locked", 0o644)
		runChild(t, childOptions{stage: "container", userns: true, data: data})
	case "container":
		enterPrivateMounts(t)
		cfg := containerConfig(data)
		cfg.Devices = nil // mknod is refused and custom numbers have no host node to bind
		cfg.Mounts = append(cfg.Mounts, bindMount(lockedVolume, "/locked", unix.MS_RDONLY))
		setUpContainer(t, cfg)
		checkContainer(t)
		requireMount(t, "/locked", "tmpfs", "ro", "nosuid", "nodev", "noexec")
		requireEROFS(t, "/locked/new")
		if got := readFile(t, "/locked/file"); got != "locked" {
			t.Errorf("/locked/file = %q", got)
		}
		// Devices are the host's nodes, bind-mounted.
		for _, name := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
			requireMount(t, "/dev/"+name, "devtmpfs")
		}
		requireDevice(t, "/dev/null", unix.S_IFCHR, 1, 3, 0o666, 0, 0)
	}
}

func TestNoPivotRoot(t *testing.T) {
	data := fixtureDir(t)
	if childStage() == "" {
		buildRootfs(t, data)
		runChild(t, childOptions{stage: "container", data: data})
		return
	}
	enterPrivateMounts(t)
	cfg := &configs.Config{
		Rootfs:      filepath.Join(data, "rootfs"),
		NoPivotRoot: true,
		Mounts:      defaultMounts()[:2],
	}
	setUpContainer(t, cfg)
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Fatalf("not in the rootfs: %v", err)
	}
	if _, err := os.Stat(filepath.Join("/", data)); err == nil {
		t.Fatalf("host path %s still reachable", data)
	}
	requireMount(t, "/proc", "proc")
	requireDevice(t, "/dev/null", unix.S_IFCHR, 1, 3, 0o666, 0, 0)
}

// TestSharedRootPropagation checks pivot_root works when "/" is made
// rshared, which needs the rootfs's parent mount made private first.
func TestSharedRootPropagation(t *testing.T) {
	data := fixtureDir(t)
	if childStage() == "" {
		buildRootfs(t, data)
		runChild(t, childOptions{stage: "container", data: data})
		return
	}
	enterPrivateMounts(t)
	cfg := &configs.Config{
		Rootfs:          filepath.Join(data, "rootfs"),
		RootPropagation: unix.MS_SHARED | unix.MS_REC,
		Mounts:          defaultMounts()[:2],
	}
	setUpContainer(t, cfg)
	root := requireMount(t, "/", "")
	if !strings.Contains(root.Optional, "shared:") {
		t.Errorf("/ is not shared: %q", root.Optional)
	}
}
