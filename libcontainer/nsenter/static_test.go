package nsenter

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"syscall"
	"testing"
)

// TestInitProgramIsStatic: the embedded program needs neither a program
// interpreter nor shared libraries, since it runs in containers whose
// rootfs has no libc, or another one.
func TestInitProgramIsStatic(t *testing.T) {
	prog, err := InitProgram()
	if err != nil {
		t.Fatalf("%v (make libcontainer/nsenter/cinit/bin/husk-init)", err)
	}
	f, err := elf.NewFile(bytes.NewReader(prog))
	if err != nil {
		t.Fatalf("the embedded program is not an ELF file: %v", err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		t.Errorf("ELF type %v, want an executable", f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the embedded program has a program interpreter: it is not static")
		}
	}
	needed, err := f.ImportedLibraries()
	if err != nil {
		t.Fatalf("read DT_NEEDED: %v", err)
	}
	if len(needed) != 0 {
		t.Errorf("the embedded program needs shared libraries %q", needed)
	}
}

// TestInitProgramRunsWithoutLibc runs the program from its sealed memfd
// with an empty directory as its root, where neither a dynamic loader nor
// any library could be found, as an init that joins a network namespace:
// it must get as far as its started frame, there.
func TestInitProgramRunsWithoutLibc(t *testing.T) {
	requireRoot(t)
	emptyRoot := t.TempDir()
	holder := startHolder(t, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET})
	netns, netLink := openNamespace(t, holder, "net")

	req := Request{SyncFD: 3, JoinFDs: []int{4}}
	p := startInit(t, initOptions{env: req.Env(), nsFiles: []*os.File{netns}, chroot: emptyRoot})
	if err := p.conn.WaitStarted(); err != nil {
		t.Fatalf("WaitStarted: %v (stderr %q)", err, p.stderr.String())
	}
	if root := readLink(t, fmt.Sprintf("/proc/%d/root", p.pid)); root != emptyRoot {
		t.Errorf("init's root is %s, want the empty %s", root, emptyRoot)
	}
	if exe := readLink(t, fmt.Sprintf("/proc/%d/exe", p.pid)); exe != "/memfd:husk-init (deleted)" {
		t.Errorf("init runs %s, want the sealed memfd", exe)
	}
	if got := readLink(t, fmt.Sprintf("/proc/%d/ns/net", p.pid)); got != netLink {
		t.Errorf("init is in %s, want the joined %s", got, netLink)
	}
	if entries, err := os.ReadDir(emptyRoot); err != nil || len(entries) != 0 {
		t.Errorf("the root is not empty: %v (%v)", entries, err)
	}
	p.conn.Close()
	if code := p.wait(t); code != 1 || p.stdout.Len() != 0 || p.stderr.Len() != 0 {
		t.Errorf("init exited %d, stdout %q, stderr %q after EOF; want 1 and nothing", code, p.stdout.String(), p.stderr.String())
	}
}
