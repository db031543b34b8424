package integration

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// emptyDir fails the test if dir has any entry.
func emptyDir(t *testing.T, dir, why string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	for _, e := range entries {
		t.Errorf("%s: %s appeared in %s", why, e.Name(), dir)
	}
}

// TestMountDestinationSymlinkEscape (CVE-2021-30465 class): mount
// destinations that are symlinks pointing out of the rootfs, absolute or
// relative, are resolved inside the rootfs, as runc does: the mounts land
// under the rootfs and nothing appears outside it.
func TestMountDestinationSymlinkEscape(t *testing.T) {
	h := newHarness(t)
	outside := filepath.Join(h.dir, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	b := h.newBundle().writable()
	if err := os.Symlink(outside, b.path("escape-abs")); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(b.rootfs, outside)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(rel, b.path("escape-rel")); err != nil {
		t.Fatal(err)
	}
	b.addMount(specs.Mount{Destination: "/escape-abs/m1", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}})
	b.addMount(specs.Mount{Destination: "/escape-rel/m2", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}})
	b.shell(`echo a > /escape-abs/m1/f && echo wrote-abs; echo b > /escape-rel/m2/f && echo wrote-rel`)
	r := h.run(b, cmdOpts{})
	if r.Exit != 0 || r.Stdout != "wrote-abs\nwrote-rel\n" {
		t.Errorf("mounts through symlinks did not work inside: %v", r)
	}
	emptyDir(t, outside, "mount destination escaped the rootfs")
	// The link targets, read as paths inside the rootfs: `..` stops at its
	// root, so the relative one ends at /outside.
	for _, inside := range []string{filepath.Join(outside, "m1"), "/outside/m2"} {
		if info, err := os.Stat(b.path(inside)); err != nil || !info.IsDir() {
			t.Errorf("mount point %s was not made inside the rootfs: %v", inside, err)
		}
	}
}

// TestDevSymlinkInImage (CVE-2026-41579 class): with no /dev mount in the
// spec and /dev in the image a symlink out of the rootfs, the default
// device nodes must not be created outside the rootfs (refusing is fine).
func TestDevSymlinkInImage(t *testing.T) {
	for _, kind := range []string{"absolute", "relative"} {
		t.Run(kind, func(t *testing.T) {
			h := newHarness(t)
			target := filepath.Join(h.dir, "host-dev")
			if err := os.Mkdir(target, 0o755); err != nil {
				t.Fatal(err)
			}
			b := h.newBundle()
			b.dropMounts("/dev", "/dev/pts", "/dev/shm", "/dev/mqueue")
			link := target
			if kind == "relative" {
				link, _ = filepath.Rel(b.rootfs, target)
			}
			if err := os.Remove(b.path("dev")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(link, b.path("dev")); err != nil {
				t.Fatal(err)
			}
			r := h.run(b, cmdOpts{})
			t.Logf("runtime exit %d (refusing is allowed): %s", r.Exit, strings.TrimSpace(r.Stderr))
			emptyDir(t, target, "device nodes created outside the rootfs")
		})
	}
}

// CVE-2019-5736 is covered by TestCVE2019_5736JoinedPIDNamespace
// (cve_test.go), which reaches the init while it still runs the runtime.

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func fileHash(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(data))
}

// CVE-2024-21626 is covered by TestCVE2024_21626CwdThroughFd
// (cve_mounts_test.go), which leaks the host directory at a high fd.

// TestCVE2025_31133: the image's /dev/null is a symlink (and /dev is not a
// tmpfs, so the image's /dev is used). Masking must still hide the masked
// paths with the real null device, or refuse; it must never bind the
// symlink's target over them. The target here is a decoy file inside the
// rootfs, not a procfs file: a vulnerable runtime writes to the target
// (runc 1.1.5 even reopens the container's stdio onto it), and a procfs
// target such as core_pattern would change the host. (husk replaces the
// planted /dev/null while it sets up /dev, before masking; the /dev/null
// checks of masking itself are TestCVE2025_31133SharedDev's job.)
func TestCVE2025_31133(t *testing.T) {
	h := newHarness(t)
	// Writable root: with a read-only one runc 1.1.5 fails for an
	// unrelated reason (the decoy it opened keeps the remount busy).
	b := h.newBundle().writable()
	out := h.bindDir(b, "out", "/out")
	b.dropMounts("/dev", "/dev/pts", "/dev/shm", "/dev/mqueue")
	const decoy = "decoy, not a device\n"
	for name, content := range map[string]string{"etc/secret": "top secret\n", "etc/decoy": decoy} {
		if err := os.WriteFile(b.path(name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/decoy", b.path("dev/null")); err != nil {
		t.Fatal(err)
	}
	b.spec.Linux.MaskedPaths = []string{"/etc/secret", "/proc/timer_list"}
	// Results go to a bind mount: stdout may be what the runtime broke.
	b.shell(`for p in /etc/secret /proc/timer_list; do echo "$p $(stat -L -c '%F %t:%T' $p) [$(head -c 100 $p)]"; done > /out/result`)
	r := h.run(b, cmdOpts{})
	t.Logf("runtime exit %d (refusing is allowed): %s", r.Exit, strings.TrimSpace(r.Stderr))
	if data, _ := os.ReadFile(b.path("etc/decoy")); string(data) != decoy {
		t.Errorf("the /dev/null symlink target was written to: %q", data)
	}
	if r.Exit != 0 {
		return
	}
	got, _ := os.ReadFile(filepath.Join(out, "result"))
	want := "/etc/secret character special file 1:3 []\n/proc/timer_list character special file 1:3 []\n"
	if string(got) != want {
		t.Errorf("masked paths with a hostile /dev/null:\n%s\nwant:\n%s", got, want)
	}
}
