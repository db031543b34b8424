package rootfs

import (
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// sameEntry reports whether two targets name the same entry: the same
// directory (by device and inode), the same name, and both without a file
// or both with the same file.
func sameEntry(t *testing.T, a, b *target) bool {
	t.Helper()
	ino := func(fd int) [2]uint64 {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			t.Fatal(err)
		}
		return [2]uint64{st.Dev, st.Ino}
	}
	if a.name != b.name || ino(fd(a.dir)) != ino(fd(b.dir)) || (a.file == nil) != (b.file == nil) {
		return false
	}
	return a.file == nil || ino(fd(a.file)) == ino(fd(b.file))
}

// fastPathCases are paths through every kind of symlink of the resolve
// fixture, plus some of their own.
func fastPathCases(f *resolveFixture, t *testing.T) []string {
	mustMkdir(t, filepath.Join(f.rootfs, "d/e"))
	mustSymlink(t, "e", filepath.Join(f.rootfs, "d/rel"))
	mustSymlink(t, "/d/e", filepath.Join(f.rootfs, "abs-dir"))
	mustSymlink(t, "../..", filepath.Join(f.rootfs, "d/e/upup"))
	mustSymlink(t, "/etc/file", filepath.Join(f.rootfs, "to-file"))
	var paths []string
	for _, p := range []string{
		"/etc/file", "etc/file", "/etc/file/", "//etc//./file", "/etc/../etc/file", "/../../etc/file",
		"/abs-in/file", "/abs-in", "/etc/up", "/etc/up/etc/file", "/etc/up/etc/up/../etc/file",
		"/abs-out", "/abs-out/new", "/rel-out/new", "/dangling", "/dangling/x", "/loop1", "/loop1/x",
		"/d/rel", "/d/rel/upup", "/d/rel/upup/etc/file", "/abs-dir/upup/abs-in/file", "/to-file",
		"/to-file/x", "/etc/file/x", "/missing", "/missing/x", "/etc/missing", "/", ".", "..", "/etc/..",
		"/d/e/..", "/d/e/upup/..",
	} {
		paths = append(paths, p)
	}
	return paths
}

// TestResolveFastMatchesWalk: wherever the fast path answers, walk gives
// the same target; the fast path never creates anything.
func TestResolveFastMatchesWalk(t *testing.T) {
	f := newResolveFixture(t)
	paths := fastPathCases(f, t)
	answered := 0
	for _, create := range []createMode{createNothing, createParents, createDir, createFile} {
		for _, final := range []finalSymlink{followSymlink, refuseSymlink, keepSymlink} {
			opts := resolveOptions{create: create, final: final}
			for _, p := range paths {
				fast, ok := resolveFast(f.root, p, opts)
				if !ok {
					continue
				}
				answered++
				slow, err := walk(f.root, p, opts)
				if err != nil {
					t.Errorf("%q %+v: fast path answered, walk failed: %v", p, opts, err)
				} else if !sameEntry(t, fast, slow) {
					t.Errorf("%q %+v: fast path and walk resolve to different entries (%s, %s)",
						p, opts, hostPath(t, fast), hostPath(t, slow))
				}
				fast.Close()
				if slow != nil {
					slow.Close()
				}
			}
		}
	}
	// The fast path must actually serve the common cases.
	if answered < 50 {
		t.Fatalf("the fast path answered only %d lookups", answered)
	}
}

func TestResolveFastLeavesTheHardCasesToWalk(t *testing.T) {
	f := newResolveFixture(t)
	fastPathCases(f, t)
	for _, c := range []struct {
		path string
		opts resolveOptions
	}{
		{"/abs-in", resolveOptions{final: followSymlink}}, // final symlink to follow
		{"/abs-in", resolveOptions{final: refuseSymlink}}, // walk's refusal message
		{"/missing/x", resolveOptions{create: createDir}}, // needs creating
		{"/missing", resolveOptions{create: createNothing}},
		{"/etc/file/x", resolveOptions{create: createNothing}}, // ENOTDIR, walk's message
		{"/loop1/x", resolveOptions{create: createNothing}},    // ELOOP
		{"/etc/..", resolveOptions{create: createNothing}},     // resolves to root
		{"/", resolveOptions{create: createNothing}},
	} {
		if tg, ok := resolveFast(f.root, c.path, c.opts); ok {
			tg.Close()
			t.Errorf("%q %+v: fast path answered", c.path, c.opts)
		}
	}
	if err := unix.Lstat(filepath.Join(f.rootfs, "missing"), new(unix.Stat_t)); err == nil {
		t.Error("the fast path created /missing")
	}
}
