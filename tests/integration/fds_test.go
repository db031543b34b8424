package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// openFiles creates one file per content under the test dir and opens
// them for reading, in order; they are closed at cleanup.
func (h *harness) openFiles(contents ...string) []*os.File {
	h.t.Helper()
	var files []*os.File
	for i, c := range contents {
		path := filepath.Join(h.dir, "fd-file-"+string(rune('a'+i)))
		if err := os.WriteFile(path, []byte(c), 0o644); err != nil {
			h.t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			h.t.Fatal(err)
		}
		h.t.Cleanup(func() { f.Close() })
		files = append(files, f)
	}
	return files
}

// fdListScript lists the shell's open fds through ls, whose own directory
// fd is the highest one.
const fdListScript = `ls /proc/self/fd | sort -n | tr '\n' ' '`

// TestNoHostFDsReachContainer: fds the runtime inherits (here an open host
// directory and a file, without --preserve-fds) must not reach the
// container; only 0, 1, 2 and ls's own directory fd are there.
func TestNoHostFDsReachContainer(t *testing.T) {
	h := newHarness(t)
	dir, err := os.Open(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	// Leaked at fds 20 and 21 (nil entries are closed in the child): at
	// 3 and 4 the runtime's own fds would overwrite them anyway.
	extra := append(append(make([]*os.File, 17), dir), h.openFiles("leaked")...)
	b := h.newBundle().shell(fdListScript)
	r := h.run(b, cmdOpts{extraFiles: extra})
	if r.Exit != 0 {
		t.Fatalf("run: %v", r)
	}
	if got := strings.TrimSpace(r.Stdout); got != "0 1 2 3" {
		t.Errorf("fds inside = %q, want \"0 1 2 3\" (3 is ls's)", got)
	}
}

// TestPreserveFDs: --preserve-fds N passes fds 3..3+N-1 as they are.
func TestPreserveFDs(t *testing.T) {
	h := newHarness(t)
	files := h.openFiles("three\n", "four\n", "five\n")
	b := h.newBundle().shell(`cat <&3; cat <&4; ` + fdListScript)
	r := h.run(b, cmdOpts{extraFiles: files}, "--preserve-fds", "2")
	if r.Exit != 0 {
		t.Fatalf("run: %v", r)
	}
	if r.Stdout != "three\nfour\n0 1 2 3 4 5 " {
		t.Errorf("inside = %q, want the two preserved files then fds 0-4 (+5 for ls)", r.Stdout)
	}
}

// TestListenFDs: with LISTEN_PID = the runtime's pid and LISTEN_FDS=2,
// fds 3 and 4 pass to the container, whose env says LISTEN_FDS=2
// LISTEN_PID=1; --preserve-fds 1 then passes fd 5 too. A shell sets
// LISTEN_PID to its own pid and execs the runtime, so the pid matches.
func TestListenFDs(t *testing.T) {
	h := newHarness(t)
	files := h.openFiles("listen-a\n", "listen-b\n", "preserved\n", "not-passed\n")
	b := h.newBundle().shell(`echo "$LISTEN_FDS $LISTEN_PID"; cat <&3; cat <&4; cat <&5; ` + fdListScript)
	b.write(t)
	h.track(b.id)
	wrap := []string{"sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=2 exec "$@"`, "sh"}
	r := h.rt(cmdOpts{extraFiles: files, wrap: wrap}, "run", "--preserve-fds", "1", "--bundle", b.dir, b.id)
	if r.Exit != 0 {
		t.Fatalf("run: %v", r)
	}
	want := "2 1\nlisten-a\nlisten-b\npreserved\n0 1 2 3 4 5 6 "
	if r.Stdout != want {
		t.Errorf("inside = %q, want %q", r.Stdout, want)
	}
}
