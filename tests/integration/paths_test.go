package integration

import (
	"os"
	"strings"
	"testing"
)

// TestMaskedPaths: a masked file reads empty (it is /dev/null), a masked
// directory is an empty read-only tmpfs, and missing paths are skipped.
func TestMaskedPaths(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	if err := os.WriteFile(b.path("etc/secret"), []byte("top secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(b.path("etc/secret.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.path("etc/secret.d/key"), []byte("key\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.spec.Linux.MaskedPaths = append(b.spec.Linux.MaskedPaths, "/etc/secret", "/etc/secret.d", "/etc/no-such-path")
	b.shell(`echo "file:$(cat /etc/secret)"; stat -c '%F %t:%T' /etc/secret; echo "dir:$(ls -A /etc/secret.d)"; ` +
		`echo "keys:$(cat /proc/keys | wc -c)"; echo "firmware:$(ls -A /sys/firmware)"; ` + mountsScript)
	before, mounts := splitMounts(t, h.runOK(b))
	want := "file:\ncharacter special file 1:3\ndir:\nkeys:0\nfirmware:\n"
	if before != want {
		t.Errorf("masked paths seen inside:\n%s\nwant:\n%s", before, want)
	}
	for _, dir := range []string{"/etc/secret.d", "/sys/firmware"} {
		m := findMount(t, mounts, dir)
		if m.FSType != "tmpfs" {
			t.Errorf("masked dir %s is %s, want tmpfs", dir, m.FSType)
		}
		checkOpts(t, m, "ro")
	}
}

// TestReadonlyPaths: readonly paths are read-only bind mounts of
// themselves; the rest of a writable root stays writable.
func TestReadonlyPaths(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().writable()
	if err := os.MkdirAll(b.path("data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.path("data/f"), []byte("kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.spec.Linux.ReadonlyPaths = append(b.spec.Linux.ReadonlyPaths, "/data", "/no-such-path")
	b.shell(`cat /data/f; touch /data/new 2>/dev/null && echo data-writable; touch /other && echo other-ok; ` +
		`echo 1 2>/dev/null > /proc/sys/kernel/ns_last_pid && echo procsys-writable; ` + mountsScript)
	before, mounts := splitMounts(t, h.runOK(b))
	if before != "kept\nother-ok\n" {
		t.Errorf("read-only paths seen inside = %q, want kept, other-ok", before)
	}
	checkOpts(t, findMount(t, mounts, "/data"), "ro")
	checkOpts(t, findMount(t, mounts, "/proc/sys"), "ro")
	if _, err := os.Stat(b.path("data/new")); err == nil {
		t.Errorf("a file was created under the read-only path")
	}
}

// TestDefaultDevices: the nodes every container gets, with their numbers
// and modes, and the standard symlinks.
func TestDefaultDevices(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().shell(`for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a %u:%g' /dev/$d; done; ` +
		`for l in fd stdin stdout stderr ptmx; do echo "/dev/$l -> $(readlink /dev/$l)"; done; ` +
		`head -c 5 /dev/zero | wc -c; echo x > /dev/null && echo null-ok`)
	got := nonEmptyLines(h.runOK(b))
	want := []string{
		"/dev/null character special file 1:3 666 0:0",
		"/dev/zero character special file 1:5 666 0:0",
		"/dev/full character special file 1:7 666 0:0",
		"/dev/random character special file 1:8 666 0:0",
		"/dev/urandom character special file 1:9 666 0:0",
		"/dev/tty character special file 5:0 666 0:0",
		"/dev/fd -> /proc/self/fd",
		"/dev/stdin -> /proc/self/fd/0",
		"/dev/stdout -> /proc/self/fd/1",
		"/dev/stderr -> /proc/self/fd/2",
		"/dev/ptmx -> pts/ptmx",
		"5",
		"null-ok",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("devices inside:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestExtraDevice: linux.devices creates the node with its numbers, mode
// and owner.
func TestExtraDevice(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	mode := os.FileMode(0o600)
	uid, gid := uint32(huskUID), uint32(huskGID)
	b.spec.Linux.Devices = append(b.spec.Linux.Devices, specDevice("/dev/fuse", "c", 10, 229, &mode, &uid, &gid))
	b.spec.Process.Args = []string{"stat", "-c", "%n %F %t:%T %a %u:%g", "/dev/fuse"}
	if out := h.runOK(b); out != "/dev/fuse character special file a:e5 600 1000:1000\n" {
		t.Errorf("extra device: %q", out)
	}
}
