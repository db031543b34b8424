package rootfs

import (
	"golang.org/x/sys/unix"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/huskrt/husk/libcontainer/configs"
)

func TestRelativeCgroupPath(t *testing.T) {
	cases := []struct {
		path, root, want string
		ok               bool
	}{
		{"/a/b", "/", "/a/b", true},
		{"/a/b", "/a", "/b", true},
		{"/a", "/a", "/", true},
		{"/ab", "/a", "", false},
		{"/", "/../..", "", false},
		{"/../x", "/", "", false},
	}
	for _, c := range cases {
		got, ok := relativeCgroupPath(c.path, c.root)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("relativeCgroupPath(%q, %q) = %q, %v; want %q, %v", c.path, c.root, got, ok, c.want, c.ok)
		}
	}
}

// TestCgroupMounts covers the cgroup mounts beyond the plain v1 case of
// TestContainerFilesystem: cgroup2 (a new mount, or in a user namespace
// without a cgroup namespace a bind of the host's), and v1 in a cgroup
// namespace (new mounts of each hierarchy, rooted at the namespace).
func TestCgroupMounts(t *testing.T) {
	data := fixtureDir(t)
	if childStage() == "" {
		stages := []childOptions{
			{stage: "cgroup2"},
			{stage: "cgroup2-userns", userns: true},
		}
		var st unix.Statfs_t
		if err := unix.Statfs("/sys/fs/cgroup", &st); err == nil && st.Type != unix.CGROUP2_SUPER_MAGIC {
			// The v1 layout exists only on hybrid or legacy hosts.
			stages = append(stages, childOptions{stage: "v1-cgroupns", cgroupns: true})
		} else {
			t.Log("cgroup v2 host: the v1 layout stage does not apply")
		}
		for _, opts := range stages {
			dir := filepath.Join(data, opts.stage)
			buildRootfs(t, dir)
			opts.data = dir
			runChild(t, opts)
		}
		return
	}
	enterPrivateMounts(t)
	rootfs := filepath.Join(data, "rootfs")
	cgroupMount := defaultMounts()[6]
	if strings.HasPrefix(childStage(), "cgroup2") {
		cgroupMount.Type = "cgroup2"
	}
	cfg := &configs.Config{Rootfs: rootfs, Mounts: []configs.Mount{cgroupMount}}
	if err := Prepare(cfg, Options{Proc: openProc(t)}); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(rootfs, "sys/fs/cgroup")
	switch childStage() {
	case "cgroup2", "cgroup2-userns":
		requireMount(t, dest, "cgroup2", "ro")
		requireEROFS(t, filepath.Join(dest, "new"))
	case "v1-cgroupns":
		requireMount(t, dest, "tmpfs", "ro")
		memory := requireMount(t, filepath.Join(dest, "memory"), "cgroup", "ro")
		if memory.Root != "/" {
			t.Errorf("memory hierarchy mounted from %q, want the namespace root", memory.Root)
		}
		procs, err := os.ReadFile(filepath.Join(dest, "memory/cgroup.procs"))
		if err != nil || !strings.Contains("\n"+string(procs), "\n1\n") {
			t.Errorf("memory cgroup.procs = %q (%v), want this process", procs, err)
		}
	}
}

// TestMountedAtNoticesMissingMount checks the re-open after a mount fails
// when nothing new is mounted at the target.
func TestMountedAtNoticesMissingMount(t *testing.T) {
	f := newResolveFixture(t)
	tg, err := resolveInRoot(f.root, "/etc", resolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	if mnt, err := mountedAt(tg); err == nil {
		mnt.Close()
		t.Fatal("mountedAt found a mount where there is none")
	}
}
