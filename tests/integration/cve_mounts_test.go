package integration

// CVE tests about paths inside the rootfs: mount destinations, /proc and
// /sys, masking, the working directory. Like cve_test.go, each carries out
// the attack against decoys in the test directory.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCVE2019_19921ProcOrSysSymlinkInImage: /proc (or /sys) in the image is
// a symlink to a directory of decoys. The runtime must refuse, or mount
// procfs (sysfs) on a real /proc (/sys): following the symlink would put
// the filesystem where the runtime's later writes (sysctl, oom_score_adj)
// and the container's view no longer agree on what /proc is.
func TestCVE2019_19921ProcOrSysSymlinkInImage(t *testing.T) {
	for _, tc := range []struct{ dir, fsType string }{{"proc", "proc"}, {"sys", "sysfs"}} {
		t.Run(tc.dir, func(t *testing.T) {
			h := newHarness(t)
			b := h.newBundle()
			decoy := b.path("fake" + tc.dir + "/sys/net/ipv4/ip_local_port_range")
			writeTestFile(t, decoy, decoyContent)
			if err := os.Remove(b.path(tc.dir)); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/fake"+tc.dir, b.path(tc.dir)); err != nil {
				t.Fatal(err)
			}
			adj := 500
			b.spec.Process.OOMScoreAdj = &adj
			b.spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_local_port_range": "40002 50002"}
			b.shell(`if [ -L /` + tc.dir + ` ]; then echo "/` + tc.dir + ` is a symlink"; fi; stat -f -c %T /` + tc.dir)
			r := h.run(b, cmdOpts{})
			checkDecoy(t, decoy, "a runtime write followed the symlink")
			if r.Exit != 0 {
				t.Logf("refused (allowed): %s", strings.TrimSpace(r.Stderr))
				return
			}
			if r.Stdout != tc.fsType+"\n" {
				t.Errorf("/%s inside = %q, want a real directory with %s on it", tc.dir, r.Stdout, tc.fsType)
			}
		})
	}
}

// escapeLinks makes, in dir, symlinks that lead to outside when a runtime
// resolves them on the host: "abs" (absolute) and "dotdot" (".." after a
// real directory, enough of them to climb to "/"). Inside a rootfs they
// must resolve to <rootfs>/<outside>.
func escapeLinks(t *testing.T, dir, outside string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	dotdot := "sub/" + strings.Repeat("../", 40) + strings.TrimPrefix(outside, "/")
	for name, dest := range map[string]string{"abs": outside, "dotdot": dotdot} {
		if err := os.Symlink(dest, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// volumeWithEscapes makes an empty host directory outside (the decoy) and
// a host "volume" directory whose content the container controls, holding
// escapeLinks to outside.
func (h *harness) volumeWithEscapes() (volume, outside string) {
	h.t.Helper()
	outside = filepath.Join(h.dir, "outside")
	volume = filepath.Join(h.dir, "volume")
	for _, d := range []string{outside, volume} {
		if err := os.Mkdir(d, 0o777); err != nil {
			h.t.Fatal(err)
		}
	}
	escapeLinks(h.t, volume, outside)
	return volume, outside
}

// TestCVE2021_30465MountOnSymlinkFromEarlierMount: the destination of a
// bind mount is a symlink that only exists once an earlier mount (a volume
// the container controls) is in place, and it points out of the rootfs. A
// runtime that resolves destinations before mounting, or on the host,
// mounts outside the container; the mount must land at the link's target
// inside the rootfs, where the container finds it through the link.
func TestCVE2021_30465MountOnSymlinkFromEarlierMount(t *testing.T) {
	h := newHarness(t)
	volume, outside := h.volumeWithEscapes()
	payload := h.hostDirWithFile("payload", "marker", "payload\n")
	b := h.newBundle()
	b.addMount(specs.Mount{Destination: "/vol", Type: "bind", Source: volume, Options: []string{"rbind", "rw"}})
	for _, link := range []string{"abs", "dotdot"} {
		b.addMount(specs.Mount{Destination: "/vol/" + link, Type: "bind", Source: payload, Options: []string{"rbind", "ro"}})
	}
	b.shell(`cat /vol/abs/marker /vol/dotdot/marker`)
	r := h.run(b, cmdOpts{})
	if r.Exit != 0 || r.Stdout != "payload\npayload\n" {
		t.Errorf("the binds onto the links did not land where the links lead inside the container: %v", r)
	}
	emptyDir(t, outside, "a mount destination escaped the rootfs")
	for _, link := range []string{"abs", "dotdot"} {
		if info, err := os.Lstat(filepath.Join(volume, link)); err != nil || info.Mode()&os.ModeSymlink == 0 {
			t.Errorf("volume entry %s is no longer the symlink: %v", link, err)
		}
	}
}

// TestCVE2024_45310NothingCreatedOutsideRootfs: mount destinations with
// missing parents, reached through symlinks of a volume the container
// controls (absolute, and ".." after a real directory), must have their
// directories and files created inside the rootfs only: a runtime that
// runs MkdirAll on host paths creates them in the host directory outside.
func TestCVE2024_45310NothingCreatedOutsideRootfs(t *testing.T) {
	h := newHarness(t)
	volume, outside := h.volumeWithEscapes()
	source := h.hostDirWithFile("source", "file", "bound\n")
	b := h.newBundle()
	b.addMount(specs.Mount{Destination: "/vol", Type: "bind", Source: volume, Options: []string{"rbind", "rw"}})
	b.addMount(specs.Mount{Destination: "/vol/abs/a/b/c", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}})
	b.addMount(specs.Mount{Destination: "/vol/dotdot/d/e/f", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}})
	b.addMount(specs.Mount{Destination: "/vol/abs/g/h/file", Type: "bind", Source: filepath.Join(source, "file"), Options: []string{"bind", "ro"}})
	b.shell(`stat -f -c %T /vol/abs/a/b/c /vol/dotdot/d/e/f; cat /vol/abs/g/h/file`)
	r := h.run(b, cmdOpts{})
	if r.Exit != 0 || r.Stdout != "tmpfs\ntmpfs\nbound\n" {
		t.Errorf("mounts with missing parents behind the volume's links: %v", r)
	}
	emptyDir(t, outside, "a mount created directories or files outside the rootfs")
	for _, p := range []string{"a/b/c", "d/e/f", "g/h/file"} {
		if _, err := os.Lstat(filepath.Join(b.rootfs, outside, p)); err != nil {
			t.Errorf("%s was not created inside the rootfs: %v", p, err)
		}
	}
}

// TestCVE2025_31133SharedDev: /dev is a bind mount of a directory that
// another container shares (so the runtime leaves it as it is), and there
// /dev/null was replaced by a symlink to a decoy. Masking must not bind
// the symlink's target over the masked path: the real attack points it at
// /proc/sys/kernel/core_pattern and gets a writable bind of it. (In
// security_test.go's variant /dev is the image's, which the runtime
// populates itself, replacing the planted symlink before masking.)
func TestCVE2025_31133SharedDev(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().writable()
	out := h.bindDir(b, "out", "/out")
	sharedDev := filepath.Join(h.dir, "shared-dev")
	if err := os.Mkdir(sharedDev, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/decoy", filepath.Join(sharedDev, "null")); err != nil {
		t.Fatal(err)
	}
	decoy := b.path("etc/decoy")
	writeTestFile(t, decoy, decoyContent)
	writeTestFile(t, b.path("etc/secret"), "top secret\n")
	for i := range b.spec.Mounts {
		if b.spec.Mounts[i].Destination == "/dev" {
			b.spec.Mounts[i] = specs.Mount{Destination: "/dev", Type: "bind", Source: sharedDev, Options: []string{"rbind", "rw"}}
		}
	}
	b.spec.Linux.MaskedPaths = []string{"/etc/secret"}
	b.shell(`{ stat -c '%F %t:%T' /etc/secret; cat /etc/secret; } > /out/result 2>&1`)
	r := h.run(b, cmdOpts{})
	checkDecoy(t, decoy, "the /dev/null symlink target was written to")
	if r.Exit != 0 {
		t.Logf("refused (allowed): %s", strings.TrimSpace(r.Stderr))
		return
	}
	if got, _ := os.ReadFile(filepath.Join(out, "result")); string(got) != "character special file 1:3\n" {
		t.Errorf("masked /etc/secret with a hostile shared /dev/null = %q, want the null device", got)
	}
}

// TestCVE2024_21626CwdThroughFd: process.cwd /proc/self/fd/N, where fd N
// is a host directory: leaked to the runtime at a high number (the runtime
// must not pass it on), or handed over on purpose with --preserve-fds (the
// runtime must notice that the cwd is outside the root). In both cases the
// workload must not reach host files through "..". security_test.go's
// TestCVE2024_21626 leaks at fd 3, where the init's own fds replace it.
func TestCVE2024_21626CwdThroughFd(t *testing.T) {
	for _, preserved := range []bool{false, true} {
		t.Run(map[bool]string{false: "leaked-fd-20", true: "preserved-fd-3"}[preserved], func(t *testing.T) {
			h := newHarness(t)
			marker := filepath.Join(h.dir, "escape-marker")
			writeTestFile(t, marker, "host\n")
			hostDir, err := os.Open(h.dir)
			if err != nil {
				t.Fatal(err)
			}
			defer hostDir.Close()
			fd, extra, args := 20, append(make([]*os.File, 17), hostDir), []string(nil)
			if preserved {
				fd, extra, args = 3, []*os.File{hostDir}, []string{"--preserve-fds", "1"}
			}
			b := h.newBundle()
			b.spec.Process.Cwd = "/proc/self/fd/" + strconv.Itoa(fd)
			b.shell(`test -e ` + strings.Repeat("../", 20) + strings.TrimPrefix(marker, "/") + ` && echo ESCAPED; echo "cwd=$(pwd)"`)
			r := h.run(b, cmdOpts{extraFiles: extra}, args...)
			t.Logf("exit %d (refusing is allowed): %s %s", r.Exit, strings.TrimSpace(r.Stdout), strings.TrimSpace(r.Stderr))
			if strings.Contains(r.Stdout, "ESCAPED") {
				t.Errorf("cwd %s is a host directory: host files are reachable", b.spec.Process.Cwd)
			}
		})
	}
}

// TestCVE2024_45310CwdThroughProcRoot: the runtime creates a missing
// process.cwd, as root. In a container that shares the host's pid
// namespace, an image symlink to /proc/<host pid>/root leads to the host's
// root: the directory must be made inside the rootfs, or not at all.
func TestCVE2024_45310CwdThroughProcRoot(t *testing.T) {
	h := newHarness(t)
	outside := filepath.Join(h.dir, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	hostPid := h.startHelper(nil, "sleep", "1000")
	b := h.newBundle().dropNamespace(specs.PIDNamespace)
	if err := os.Symlink(fmt.Sprintf("/proc/%d/root%s", hostPid, outside), b.path("wd")); err != nil {
		t.Fatal(err)
	}
	b.spec.Process.Cwd = "/wd/created-by-runtime"
	r := h.run(b, cmdOpts{})
	t.Logf("exit %d (refusing is allowed): %s", r.Exit, strings.TrimSpace(r.Stderr))
	emptyDir(t, outside, "process.cwd was created outside the rootfs")
}
