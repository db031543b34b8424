package nsenter

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestStaticBuild builds testdata/staticmain against static glibc and checks
// that the constructor still joins a namespace and clears the environment.
func TestStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary with the go tool; skipped with -short")
	}
	requireRoot(t)
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go tool not in PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "staticmain")
	build := exec.Command(goTool, "build", "-ldflags", "-s -w -extldflags=-static", "-o", bin, "./testdata/staticmain")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		if strings.Contains(string(out), "cannot find -lc") {
			t.Skipf("static glibc (libc.a) is not installed: %s", out)
		}
		t.Fatalf("static build: %v\n%s", err, out)
	}
	assertStatic(t, bin)

	holder := startHolder(t, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET})
	netns, netLink := openNamespace(t, holder, "net")
	req := Request{SyncFD: 1, JoinFDs: []int{3}} // errors would land on stdout
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), req.Env()...)
	cmd.ExtraFiles = []*os.File{netns}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run static binary: %v; stdout %q, stderr %q", err, out, stderr.String())
	}
	if want := netLink + "\n"; string(out) != want {
		t.Errorf("static binary printed %q, want only %q", out, want)
	}
}

func assertStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Fatalf("%s has a program interpreter; it is not statically linked", path)
		}
	}
}
