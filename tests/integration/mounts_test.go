package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// mountsScript prints the container's mount table after a marker line so
// the output of earlier commands can precede it.
const mountsScript = `echo @@MOUNTS@@; cat /proc/self/mountinfo`

// splitMounts parses what follows the mountsScript marker.
func splitMounts(t *testing.T, out string) (before string, mounts []*mountinfo.Info) {
	t.Helper()
	before, table, ok := strings.Cut(out, "@@MOUNTS@@\n")
	if !ok {
		t.Fatalf("no mount table in output:\n%s", out)
	}
	mounts, err := mountinfo.GetMountsFromReader(strings.NewReader(table), nil)
	if err != nil {
		t.Fatalf("parse mountinfo: %v\n%s", err, table)
	}
	return before, mounts
}

// findMount returns the top-most mount at mountpoint.
func findMount(t *testing.T, mounts []*mountinfo.Info, mountpoint string) *mountinfo.Info {
	t.Helper()
	var found *mountinfo.Info
	for _, m := range mounts {
		if m.Mountpoint == mountpoint {
			found = m
		}
	}
	if found == nil {
		t.Fatalf("no mount at %s", mountpoint)
	}
	return found
}

func hasOpt(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// checkOpts fails unless every want is in the mount's per-mount or
// superblock options ("!x" means x must be absent from both).
func checkOpts(t *testing.T, m *mountinfo.Info, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if absent, ok := strings.CutPrefix(w, "!"); ok {
			if hasOpt(m.Options, absent) || hasOpt(m.VFSOptions, absent) {
				t.Errorf("%s: option %q present (%s | %s)", m.Mountpoint, absent, m.Options, m.VFSOptions)
			}
			continue
		}
		if !hasOpt(m.Options, w) && !hasOpt(m.VFSOptions, w) {
			t.Errorf("%s: option %q missing (%s | %s)", m.Mountpoint, w, m.Options, m.VFSOptions)
		}
	}
}

// hostDirWithFile makes a host directory with one file, for bind sources.
func (h *harness) hostDirWithFile(name, file, content string) string {
	h.t.Helper()
	dir := filepath.Join(h.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return dir
}

// TestDefaultMounts: the mounts of the default spec, with their options.
func TestDefaultMounts(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().shell(`stat -c %a /dev/shm; ` + mountsScript)
	before, mounts := splitMounts(t, h.runOK(b))
	// tmpfs does not list mode=1777: it is its default.
	if strings.TrimSpace(before) != "1777" {
		t.Errorf("/dev/shm mode = %q, want 1777", before)
	}
	for _, tc := range []struct {
		dest, fstype string
		opts         []string
	}{
		{"/", "", []string{"ro"}},
		{"/proc", "proc", nil},
		{"/dev", "tmpfs", []string{"nosuid", "mode=755", "size=65536k", "!relatime", "!noatime"}},
		{"/dev/pts", "devpts", []string{"nosuid", "noexec", "mode=620", "ptmxmode=666", "gid=5"}},
		{"/dev/shm", "tmpfs", []string{"nosuid", "noexec", "nodev", "size=65536k"}},
		{"/dev/mqueue", "mqueue", []string{"nosuid", "noexec", "nodev"}},
		{"/sys", "sysfs", []string{"ro", "nosuid", "noexec", "nodev"}},
		{"/proc/sys", "proc", []string{"ro"}},
	} {
		m := findMount(t, mounts, tc.dest)
		if tc.fstype != "" && m.FSType != tc.fstype {
			t.Errorf("%s: fstype %s, want %s", tc.dest, m.FSType, tc.fstype)
		}
		checkOpts(t, m, tc.opts...)
	}
}

func TestBindMounts(t *testing.T) {
	h := newHarness(t)
	roSrc := h.hostDirWithFile("ro-src", "hello", "from-host\n")
	rwSrc := h.hostDirWithFile("rw-src", "hello", "rw\n")
	b := h.newBundle()
	b.addMount(specs.Mount{Destination: "/mnt/ro", Type: "bind", Source: roSrc, Options: []string{"bind", "ro", "nosuid", "nodev", "noexec"}})
	b.addMount(specs.Mount{Destination: "/mnt/rw", Type: "bind", Source: rwSrc, Options: []string{"rbind", "rw"}})
	b.addMount(specs.Mount{Destination: "/mnt/file", Type: "bind", Source: filepath.Join(roSrc, "hello"), Options: []string{"bind", "ro"}})
	b.shell(`cat /mnt/ro/hello; touch /mnt/ro/x 2>/dev/null && echo ro-writable; echo written > /mnt/rw/new; cat /mnt/file; ` + mountsScript)
	before, mounts := splitMounts(t, h.runOK(b))
	if before != "from-host\nfrom-host\n" {
		t.Errorf("output before the mount table = %q", before)
	}
	checkOpts(t, findMount(t, mounts, "/mnt/ro"), "ro", "nosuid", "nodev", "noexec")
	checkOpts(t, findMount(t, mounts, "/mnt/rw"), "rw", "!ro")
	checkOpts(t, findMount(t, mounts, "/mnt/file"), "ro")
	if data, err := os.ReadFile(filepath.Join(rwSrc, "new")); err != nil || string(data) != "written\n" {
		t.Errorf("file written through the rw bind: %q, %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(roSrc, "x")); err == nil {
		t.Errorf("a file was created through the ro bind")
	}
}

// privateMountNS runs the runtime inside `unshare --mount` after a setup
// script, so the test can mount host-side sources (submounts) without
// touching the host's mount namespace.
func privateMountNS(setup string) []string {
	return []string{"unshare", "--mount", "--propagation", "private", "sh", "-ec", setup + "\nexec \"$@\"", "sh"}
}

// TestRecursiveBinds: rbind carries submounts, bind does not; ro is not
// recursive but rro is (mount_setattr, Linux 5.12).
func TestRecursiveBinds(t *testing.T) {
	h := newHarness(t)
	src := h.hostDirWithFile("src", "top", "top\n")
	if err := os.Mkdir(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	setup := "mount -t tmpfs -o size=1m husk-sub " + src + "/sub; echo sub > " + src + "/sub/f"
	b := h.newBundle()
	for _, m := range []struct{ dest, opts string }{
		{"/mnt/bind", "bind"}, {"/mnt/rbind", "rbind"}, {"/mnt/ro", "rbind,ro"}, {"/mnt/rro", "rbind,rro"},
	} {
		b.addMount(specs.Mount{Destination: m.dest, Type: "bind", Source: src, Options: strings.Split(m.opts, ",")})
	}
	b.shell(`cat /mnt/bind/sub/f 2>/dev/null || echo no-sub; cat /mnt/rbind/sub/f; ` + mountsScript)
	b.write(t)
	h.track(b.id)
	r := h.rt(cmdOpts{wrap: privateMountNS(setup)}, "run", "--bundle", b.dir, b.id)
	if r.Exit != 0 {
		t.Fatalf("run: %v", r)
	}
	before, mounts := splitMounts(t, r.Stdout)
	if before != "no-sub\nsub\n" {
		t.Errorf("bind vs rbind contents = %q, want no-sub then sub", before)
	}
	checkOpts(t, findMount(t, mounts, "/mnt/rbind/sub"), "rw")
	checkOpts(t, findMount(t, mounts, "/mnt/ro"), "ro")
	checkOpts(t, findMount(t, mounts, "/mnt/ro/sub"), "rw")
	checkOpts(t, findMount(t, mounts, "/mnt/rro"), "ro")
	checkOpts(t, findMount(t, mounts, "/mnt/rro/sub"), "ro")
}

func TestTmpfsOptions(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	b.addMount(specs.Mount{Destination: "/mnt/t", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m", "mode=1770", "nosuid", "nodev", "noexec", "noatime"}})
	b.addMount(specs.Mount{Destination: "/mnt/r", Type: "tmpfs", Source: "tmpfs", Options: []string{"ro", "relatime"}})
	b.shell(`stat -c %a /mnt/t; ` + mountsScript)
	before, mounts := splitMounts(t, h.runOK(b))
	if strings.TrimSpace(before) != "1770" {
		t.Errorf("mode of the tmpfs root = %q, want 1770", before)
	}
	checkOpts(t, findMount(t, mounts, "/mnt/t"), "size=1024k", "mode=1770", "nosuid", "nodev", "noexec", "noatime")
	checkOpts(t, findMount(t, mounts, "/mnt/r"), "ro", "relatime")
}

// TestCgroup2Mount: a read-only cgroup2 mount in a cgroup namespace.
func TestCgroup2Mount(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	b.setNamespace(specs.CgroupNamespace, "")
	b.addMount(specs.Mount{Destination: "/mnt/cg2", Type: "cgroup2", Source: "cgroup2", Options: []string{"ro", "nosuid", "nodev", "noexec"}})
	b.shell(`test -e /mnt/cg2/cgroup.procs && echo has-procs; ` + mountsScript)
	before, mounts := splitMounts(t, h.runOK(b))
	if before != "has-procs\n" {
		t.Errorf("cgroup2 mount content check = %q", before)
	}
	m := findMount(t, mounts, "/mnt/cg2")
	if m.FSType != "cgroup2" {
		t.Errorf("fstype = %s, want cgroup2", m.FSType)
	}
	checkOpts(t, m, "ro", "nosuid", "nodev", "noexec")
}

// TestRootfsPropagation: linux.rootfsPropagation applies to "/" inside.
// runc 1.1.5 leaves "/" private for shared and unbindable (runc issue
// 1755, fixed in runc 1.3 and 1.2.x), so those cases fail on it.
func TestRootfsPropagation(t *testing.T) {
	for _, tc := range []struct {
		propagation string
		want        string // optional field prefix on "/", "" = none
	}{
		{"private", ""},
		{"shared", "shared:"},
		{"unbindable", "unbindable"},
	} {
		t.Run(tc.propagation, func(t *testing.T) {
			h := newHarness(t)
			b := h.newBundle().shell(mountsScript)
			b.spec.Linux.RootfsPropagation = tc.propagation
			_, mounts := splitMounts(t, h.runOK(b))
			root := findMount(t, mounts, "/")
			switch {
			case tc.want == "" && root.Optional != "":
				t.Errorf("/ has propagation %q, want private", root.Optional)
			case tc.want != "" && !strings.Contains(root.Optional, tc.want):
				t.Errorf("/ has propagation %q, want %s", root.Optional, tc.want)
			}
		})
	}
}

func TestReadonlyRoot(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().shell(`touch /x 2>&1; echo rc=$?`)
	out := h.runOK(b)
	mustContain(t, "touch on a read-only root", out, "Read-only file system", "rc=1")
	if _, err := os.Stat(b.path("x")); err == nil {
		t.Errorf("/x was created in the rootfs")
	}
	w := h.newBundle().writable().shell(`touch /x && echo ok`)
	if out := h.runOK(w); out != "ok\n" {
		t.Errorf("writable root: %q", out)
	}
}

// TestNoPivot: --no-pivot still confines the process to its rootfs.
func TestNoPivot(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().shell(`cat /etc/hostname; ls /; test -e /usr && echo host-visible; true`)
	out := h.runOK(b, "--no-pivot")
	if !strings.HasPrefix(out, "template\n") || strings.Contains(out, "host-visible") {
		t.Errorf("with --no-pivot the process does not see exactly its rootfs:\n%s", out)
	}
}
