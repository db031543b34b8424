package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// resolveFixture is a rootfs next to an "outside" directory standing for
// the host, with symlinks that try to lead out of the rootfs.
type resolveFixture struct {
	root    *os.File
	rootfs  string
	outside string
}

func newResolveFixture(t *testing.T) *resolveFixture {
	t.Helper()
	base := t.TempDir()
	rootfs := filepath.Join(base, "rootfs")
	outside := filepath.Join(base, "outside")
	mustMkdir(t, filepath.Join(rootfs, "etc"))
	mustMkdir(t, outside)
	mustSymlink(t, outside, filepath.Join(rootfs, "abs-out"))                           // absolute, to the host
	mustSymlink(t, "../../../../../../../.."+outside, filepath.Join(rootfs, "rel-out")) // relative, climbing
	mustSymlink(t, "/etc", filepath.Join(rootfs, "abs-in"))
	mustSymlink(t, "/nonexistent/deeper", filepath.Join(rootfs, "dangling"))
	mustSymlink(t, "loop2", filepath.Join(rootfs, "loop1"))
	mustSymlink(t, "loop1", filepath.Join(rootfs, "loop2"))
	mustSymlink(t, "..", filepath.Join(rootfs, "etc/up"))
	mustWrite(t, filepath.Join(rootfs, "etc/file"), "x", 0o644)
	root, err := os.OpenFile(rootfs, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return &resolveFixture{root: root, rootfs: rootfs, outside: outside}
}

// hostPath returns the path the resolved target really has, from the
// kernel's point of view.
func hostPath(t *testing.T, tg *target) string {
	t.Helper()
	dir, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd(tg.dir)))
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, tg.name)
}

func TestResolveStaysInRoot(t *testing.T) {
	f := newResolveFixture(t)
	cases := []struct {
		path string
		want string // relative to the rootfs
	}{
		{"/etc/file", "etc/file"},
		{"etc/../etc/file", "etc/file"},
		{"/../../etc/file", "etc/file"},
		{"/abs-in/file", "etc/file"},
		{"/etc/up/etc/up/../etc/file", "etc/file"},
		{"/abs-out/new", strings.TrimPrefix(f.outside, "/") + "/new"},
		{"/rel-out/new", strings.TrimPrefix(f.outside, "/") + "/new"},
		{"/dangling/x", "nonexistent/deeper/x"},
		{"/a/b/c", "a/b/c"},
	}
	for _, c := range cases {
		tg, err := resolveInRoot(f.root, c.path, resolveOptions{create: createDir})
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		if got, want := hostPath(t, tg), filepath.Join(f.rootfs, c.want); got != want {
			t.Errorf("%s resolved to %s, want %s", c.path, got, want)
		}
		tg.Close()
	}
	requireEmptyDir(t, f.outside)
}

func TestResolveCreatesFinalComponent(t *testing.T) {
	f := newResolveFixture(t)
	tg, err := resolveInRoot(f.root, "/abs-out/sub/file", resolveOptions{create: createFile})
	if err != nil {
		t.Fatal(err)
	}
	tg.Close()
	st, err := os.Lstat(filepath.Join(f.rootfs, f.outside, "sub/file"))
	if err != nil || !st.Mode().IsRegular() {
		t.Fatalf("file not created inside the rootfs: %v", err)
	}
	tg, err = resolveInRoot(f.root, "/new-dir/dev-node", resolveOptions{create: createParents})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	if tg.file != nil || tg.name != "dev-node" {
		t.Fatalf("createParents: file %v name %q, want a missing dev-node", tg.file, tg.name)
	}
	if st, err := os.Stat(filepath.Join(f.rootfs, "new-dir")); err != nil || !st.IsDir() {
		t.Fatalf("parent not created: %v", err)
	}
	requireEmptyDir(t, f.outside)
}

func TestResolveRefusals(t *testing.T) {
	f := newResolveFixture(t)
	cases := []struct {
		path string
		opts resolveOptions
		want error // nil: any error
	}{
		{"/loop1", resolveOptions{create: createDir}, unix.ELOOP},
		{"/etc/file/below", resolveOptions{create: createDir}, unix.ENOTDIR},
		{"/missing/x", resolveOptions{create: createNothing}, unix.ENOENT},
		{"/abs-in", resolveOptions{create: createDir, final: refuseSymlink}, nil},
		{"/", resolveOptions{create: createDir}, nil},
		{"/etc/up", resolveOptions{create: createDir}, nil}, // resolves to "/"
	}
	for _, c := range cases {
		tg, err := resolveInRoot(f.root, c.path, c.opts)
		if err == nil {
			tg.Close()
			t.Errorf("%s: resolved, want an error", c.path)
			continue
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.path, err, c.want)
		}
	}
	// A final symlink is fine when the caller does not refuse it.
	tg, err := resolveInRoot(f.root, "/abs-in", resolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	if got := hostPath(t, tg); got != filepath.Join(f.rootfs, "etc") {
		t.Fatalf("/abs-in resolved to %s", got)
	}
}

func TestStatfsToMountFlags(t *testing.T) {
	got := statfsToMountFlags(unix.ST_RDONLY | unix.ST_NOSUID | unix.ST_NODEV | unix.ST_NOEXEC | unix.ST_RELATIME)
	want := uintptr(unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RELATIME)
	if got != want {
		t.Fatalf("statfsToMountFlags = %#x, want %#x", got, want)
	}
	if atimeOf(unix.MS_NOSUID) != unix.MS_STRICTATIME || atimeOf(unix.MS_RELATIME) != unix.MS_RELATIME {
		t.Fatal("atimeOf misreads the atime flags")
	}
}
