package rootfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/huskrt/husk/libcontainer/configs"
	"github.com/huskrt/husk/libcontainer/procfs"
	"golang.org/x/sys/unix"
)

func openProc(t *testing.T) *procfs.Handle {
	t.Helper()
	proc, err := procfs.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proc.Close() })
	return proc
}

func requireErrorContains(t *testing.T, what string, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded, want an error", what)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: %v, want an error mentioning %q", what, err, want)
	}
	t.Logf("%s refused as expected: %v", what, err)
}

// TestSymlinkedDestinationsStayInRootfs: destinations reached through
// symlinks the image points at host paths are mounted inside the rootfs,
// never on the host path (CVE-2021-30465, CVE-2024-45310).
func TestSymlinkedDestinationsStayInRootfs(t *testing.T) {
	data := fixtureDir(t)
	rootfs := filepath.Join(data, "rootfs")
	outside := filepath.Join(data, "outside")
	if childStage() == "" {
		buildRootfs(t, data)
		mustMkdir(t, outside)
		mustWrite(t, filepath.Join(data, "hostfile"), "bound", 0o644)
		mustSymlink(t, outside, filepath.Join(rootfs, "mnt"))
		mustSymlink(t, "../../../../../../../../.."+outside, filepath.Join(rootfs, "relmnt"))
		mustSymlink(t, outside+"/file", filepath.Join(rootfs, "etc/linkfile"))
		mustSymlink(t, outside+"/newdir/deeper", filepath.Join(rootfs, "dangling"))
		runChild(t, childOptions{stage: "container", data: data})
		requireEmptyDir(t, outside)
		return
	}
	enterPrivateMounts(t)
	cfg := &configs.Config{
		Rootfs: rootfs,
		Mounts: []configs.Mount{
			{Source: "tmpfs", Destination: "/mnt", Type: "tmpfs"},
			{Source: "tmpfs", Destination: "/relmnt/sub", Type: "tmpfs"},
			bindMount(filepath.Join(data, "hostfile"), "/etc/linkfile", 0),
			{Source: "tmpfs", Destination: "/dangling/x", Type: "tmpfs"},
		},
	}
	if err := Prepare(cfg, Options{Proc: openProc(t)}); err != nil {
		t.Fatal(err)
	}
	requireEmptyDir(t, outside)
	for _, hostPath := range []string{outside, outside + "/sub", outside + "/file", outside + "/newdir/deeper/x"} {
		requireNotMounted(t, hostPath)
	}
	inRootfs := filepath.Join(rootfs, outside)
	requireMount(t, inRootfs, "tmpfs")
	requireMount(t, inRootfs+"/file", "")
	requireMount(t, inRootfs+"/newdir/deeper/x", "tmpfs")
	// /relmnt/sub went through the relative symlink to the same place,
	// which /mnt's tmpfs now covers: it lands on that tmpfs.
	requireMount(t, inRootfs+"/sub", "tmpfs")
	if got := readFile(t, inRootfs+"/file"); got != "bound" {
		t.Errorf("bound file reads %q", got)
	}
}

// TestDevSymlinkRefused: an image whose /dev is a symlink to a host
// directory gets nothing created or mounted there.
func TestDevSymlinkRefused(t *testing.T) {
	data := fixtureDir(t)
	hostDev := filepath.Join(data, "host-dev")
	imageDev := filepath.Join(data, "image-dev", "rootfs")
	tmpfsDev := filepath.Join(data, "tmpfs-dev", "rootfs")
	if childStage() == "" {
		mustMkdir(t, hostDev)
		for _, rootfs := range []string{imageDev, tmpfsDev} {
			buildRootfs(t, filepath.Dir(rootfs))
			if err := os.Remove(filepath.Join(rootfs, "dev")); err != nil {
				t.Fatal(err)
			}
			mustSymlink(t, hostDev, filepath.Join(rootfs, "dev"))
		}
		runChild(t, childOptions{stage: "container", data: data})
		requireEmptyDir(t, hostDev)
		return
	}
	enterPrivateMounts(t)
	proc := openProc(t)
	// The image's own /dev is used: devices would be created in it.
	err := Prepare(&configs.Config{Rootfs: imageDev}, Options{Proc: proc})
	requireErrorContains(t, "image /dev symlink", err, "symlink")
	// A tmpfs is mounted on /dev.
	err = Prepare(&configs.Config{Rootfs: tmpfsDev, Mounts: defaultMounts()[1:2]}, Options{Proc: proc})
	requireErrorContains(t, "tmpfs on a /dev symlink", err, "symlink")
	requireEmptyDir(t, hostDev)
	requireNotMounted(t, hostDev)
}

// TestProcAndSysSymlinksRefused: procfs and sysfs are never mounted through
// a symlink (CVE-2019-19921).
func TestProcAndSysSymlinksRefused(t *testing.T) {
	data := fixtureDir(t)
	rootfs := filepath.Join(data, "rootfs")
	target := filepath.Join(data, "target")
	if childStage() == "" {
		buildRootfs(t, data)
		mustMkdir(t, target)
		mustMkdir(t, filepath.Join(rootfs, "proc-elsewhere"))
		for _, name := range []string{"proc", "sys"} {
			if err := os.Remove(filepath.Join(rootfs, name)); err != nil {
				t.Fatal(err)
			}
			mustSymlink(t, "/proc-elsewhere", filepath.Join(rootfs, name))
		}
		mustSymlink(t, target, filepath.Join(rootfs, "myproc"))
		runChild(t, childOptions{stage: "container", data: data})
		requireEmptyDir(t, target)
		return
	}
	enterPrivateMounts(t)
	proc := openProc(t)
	cases := []configs.Mount{
		{Source: "proc", Destination: "/proc", Type: "proc"},
		{Source: "sysfs", Destination: "/sys", Type: "sysfs"},
		{Source: "tmpfs", Destination: "/proc", Type: "tmpfs"},
		{Source: "proc", Destination: "/myproc", Type: "proc"},
	}
	for _, m := range cases {
		err := Prepare(&configs.Config{Rootfs: rootfs, Mounts: []configs.Mount{m}}, Options{Proc: proc})
		requireErrorContains(t, m.Type+" on "+m.Destination, err, "symlink")
		if !strings.Contains(err.Error(), "mount "+m.Type+" on "+m.Destination+": ") {
			t.Errorf("error lacks the stage and path: %v", err)
		}
	}
	requireNotMounted(t, filepath.Join(rootfs, "proc-elsewhere"))
	requireNotMounted(t, target)
	requireNotMounted(t, filepath.Join(rootfs, target))
}

// TestMaskingChecksDevNull: a /dev/null that is not the real 1:3 node
// (CVE-2025-31133: replaced by a symlink to a procfs knob, e.g. between
// Prepare and Finish by a hook or a racing process) makes masking fail
// without mounting anything.
func TestMaskingChecksDevNull(t *testing.T) {
	data := fixtureDir(t)
	if childStage() == "" {
		rootfs := buildRootfs(t, data)
		mustWrite(t, filepath.Join(rootfs, "masked-file"), "secret", 0o644)
		runChild(t, childOptions{stage: "container", data: data})
		return
	}
	enterPrivateMounts(t)
	cfg := &configs.Config{Rootfs: filepath.Join(data, "rootfs"), Mounts: defaultMounts()[:2]}
	proc := setUpContainer(t, cfg)
	cfg.MaskedPaths = []string{"/masked-file"}

	fakes := []struct {
		name string
		make func() error
	}{
		{"symlink to a procfs file", func() error { return os.Symlink("/proc/sys/kernel/core_pattern", "/dev/null") }},
		{"symlink to the real node", func() error { return os.Symlink("/dev/zero", "/dev/null") }},
		{"regular file", func() error { return os.WriteFile("/dev/null", nil, 0o666) }},
		{"different device", func() error { return unix.Mknod("/dev/null", unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5))) }},
	}
	for _, fake := range fakes {
		if err := os.Remove("/dev/null"); err != nil {
			t.Fatal(err)
		}
		if err := fake.make(); err != nil {
			t.Fatal(err)
		}
		err := Finish(cfg, proc)
		requireErrorContains(t, "masking with /dev/null replaced by a "+fake.name, err, "masked path /masked-file: ")
		requireNotMounted(t, "/masked-file")
	}
	if err := os.Remove("/dev/null"); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod("/dev/null", unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	if err := Finish(cfg, proc); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, "/masked-file"); got != "" {
		t.Fatalf("masked file reads %q", got)
	}
}

// TestImageDevEntriesReplaced: with the image's own /dev, planted entries
// at device paths are replaced by the real nodes, and a planted symlink is
// removed, not followed.
func TestImageDevEntriesReplaced(t *testing.T) {
	data := fixtureDir(t)
	rootfs := filepath.Join(data, "rootfs")
	victim := filepath.Join(data, "victim")
	if childStage() == "" {
		buildRootfs(t, data)
		mustWrite(t, victim, "host file", 0o644)
		mustWrite(t, filepath.Join(rootfs, "dev/null"), "not a device", 0o644)
		mustSymlink(t, victim, filepath.Join(rootfs, "dev/zero"))
		mustSymlink(t, "/etc", filepath.Join(rootfs, "dev/net"))
		runChild(t, childOptions{stage: "container", data: data})
		if st, err := os.Lstat(victim); err != nil || !st.Mode().IsRegular() {
			t.Fatalf("host file touched: %v %v", st, err)
		}
		return
	}
	enterPrivateMounts(t)
	cfg := &configs.Config{
		Rootfs:  rootfs,
		Devices: []configs.Device{{Path: "/dev/net/tun", Type: 'c', Major: 10, Minor: 200, FileMode: 0o666}},
	}
	if err := Prepare(cfg, Options{Proc: openProc(t)}); err != nil {
		t.Fatal(err)
	}
	requireDevice(t, filepath.Join(rootfs, "dev/null"), unix.S_IFCHR, 1, 3, 0o666, 0, 0)
	requireDevice(t, filepath.Join(rootfs, "dev/zero"), unix.S_IFCHR, 1, 5, 0o666, 0, 0)
	// /dev/net is a symlink to /etc inside the rootfs: followed inside it.
	requireDevice(t, filepath.Join(rootfs, "etc/tun"), unix.S_IFCHR, 10, 200, 0o666, 0, 0)
}
