package rootfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFSStaysInRoot: a symlink planted in the image that points out of it
// (absolutely, by "..", or through /proc/self/root) is resolved inside the
// root, and what is not a regular file does not open.
func TestFSStaysInRoot(t *testing.T) {
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "secret"), []byte("host secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(host, "root")
	for _, d := range []string{"etc", "proc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "secret"), []byte("image file"), 0o644); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"etc/abs":       filepath.Join(host, "secret"),
		"etc/dotdot":    "../../secret",
		"etc/procself":  "/proc/self/root" + filepath.Join(host, "secret"),
		"etc/direct":    "/secret",
		"etc/passwdish": "direct",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mkfifo(filepath.Join(root, "etc/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	rootDir, err := os.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer rootDir.Close()
	fsys := FS(rootDir, openProc(t))

	for _, name := range []string{"etc/abs", "etc/dotdot", "etc/procself"} {
		data, err := fs.ReadFile(fsys, name)
		if err == nil && string(data) == "host secret" {
			t.Errorf("%s led out of the root to the host's file", name)
		}
	}
	for _, name := range []string{"etc/direct", "etc/passwdish", "secret"} {
		data, err := fs.ReadFile(fsys, name)
		if err != nil || string(data) != "image file" {
			t.Errorf("%s: got %q, %v; want the image's file", name, data, err)
		}
	}
	if _, err := fsys.Open("etc/fifo"); !errors.Is(err, errNotRegular) {
		t.Errorf("opening a fifo: %v, want %v", err, errNotRegular)
	}
	if _, err := fsys.Open("etc/missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("opening a missing file: %v, want fs.ErrNotExist", err)
	}
	if f, err := fsys.Open("secret"); err == nil {
		if _, werr := f.(io.Writer).Write([]byte("x")); werr == nil {
			t.Error("a file from FS is writable")
		}
		f.Close()
	}
}
