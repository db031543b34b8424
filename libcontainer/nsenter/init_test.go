package nsenter

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// workloadScript prints what the exec plan should have set up. The fd
// loop looks at the shell's own fds: 3 is preserved, the others must be
// closed by the exec.
const workloadScript = `id
grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):' /proc/self/status
echo umask=$(umask)
echo cwd=$(pwd)
echo nofile=$(ulimit -n)/$(ulimit -Hn)
echo FOO=$FOO
echo husk-vars=$(env | grep -c _HUSK_)
for fd in 3 4 5 6 7 8 9; do [ -e /proc/$$/fd/$fd ] && echo open-fd=$fd; done
echo pid=$$ session-tty=$(cut -d' ' -f6,7 /proc/$$/stat)
`

// TestInitMountsAndExecs drives a container init through the whole
// protocol: mounts (one failing), then an exec plan with credentials,
// capabilities, rlimits, umask, cwd and a preserved fd; `husk start`'s
// side of the fifo; and checks what the workload saw.
func TestInitMountsAndExecs(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	for _, tc := range []struct {
		name    string
		attr    *syscall.SysProcAttr
		argv0   string
		console bool
	}{
		{"namespaces, absolute path", privateNamespaces(), busyboxPath, false},
		{"user namespace, PATH lookup, console", userNamespace(true), "busybox", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testMountsAndExec(t, tc.attr, tc.argv0, tc.console)
		})
	}
}

func testMountsAndExec(t *testing.T, attr *syscall.SysProcAttr, argv0 string, console bool) {
	dir, rootfs := makeRootfs(t)
	fifoPath, fifo := makeFifo(t, dir)
	preserved, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer preserved.Close()
	// fd 3 is preserved; fd 4 is the sync socket; fd 5 is inherited like
	// fd 3 but above the preserved range, so the exec must close it.
	p := startInit(t, initOptions{attr: attr, preserved: []*os.File{preserved}, nsFiles: []*os.File{preserved}})
	requirePrivateMounts(t, p.pid)

	// A tmpfs shows up in the init's mount namespace only.
	tmp := openPath(t, p.inInit(rootfs+"/tmp"))
	if err := p.conn.Mount("tmpfs", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m,mode=1777", tmp); err != nil {
		t.Fatalf("mount tmpfs: %v (init stderr %q)", err, p.stderr.String())
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(p.inInit(rootfs+"/tmp"), &sfs); err != nil {
		t.Fatal(err)
	}
	if sfs.Type != unix.TMPFS_MAGIC || uint64(sfs.Blocks)*uint64(sfs.Bsize) != 1<<20 {
		t.Errorf("init's %s/tmp: filesystem %#x of %d blocks, want the 1 MiB tmpfs", rootfs, sfs.Type, sfs.Blocks)
	}
	var hostSfs unix.Statfs_t
	if err := unix.Statfs(rootfs+"/tmp", &hostSfs); err != nil {
		t.Fatal(err)
	}
	if hostSfs.Type == unix.TMPFS_MAGIC && uint64(hostSfs.Blocks)*uint64(hostSfs.Bsize) == 1<<20 {
		t.Errorf("the 1 MiB tmpfs is visible outside the init's mount namespace")
	}

	// mount(2) failing is its bare errno, and init carries on.
	err = p.conn.Mount("none", "husk-no-such-fs", 0, "", tmp)
	if _, isErrno := err.(syscall.Errno); !isErrno || !errors.Is(err, unix.ENODEV) {
		t.Errorf("mount of an unknown filesystem: %#v, want the bare ENODEV", err)
	}
	proc := openPath(t, p.inInit(rootfs+"/proc"))
	if err := p.conn.Mount("proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "", proc); err != nil {
		t.Fatalf("mount proc after a failed mount: %v", err)
	}

	plan := basePlan(t, p, rootfs, fifo)
	umask := uint32(0o027)
	const chown, bindService = 1 << unix.CAP_CHOWN, 1 << unix.CAP_NET_BIND_SERVICE
	plan.Args = []string{argv0, "sh", "-c", workloadScript}
	plan.Env = []string{"PATH=/nothere::/bin/", "FOO=bar"}
	plan.AdditionalGids = []uint32{10, 20}
	plan.Umask = &umask
	plan.NoNewPrivileges = true
	plan.Caps = CapSets{
		Bounding: chown | bindService, Effective: chown | bindService, Permitted: chown | bindService,
		Inheritable: bindService, Ambient: bindService,
	}
	plan.Rlimits = []Rlimit{{Type: unix.RLIMIT_NOFILE, Soft: 123, Hard: 456}}
	plan.PreservedFDs = 1
	plan.SessionKeyring = "_ses.nsenter-test"
	var ptyOut <-chan string
	if console {
		master, peer := newPty(t)
		plan.Console = peer
		ptyOut = readPty(master)
	}
	if err := p.conn.Exec(plan); err != nil {
		t.Fatalf("exec plan: %v (init stderr %q)", err, p.stderr.String())
	}
	if console {
		plan.Console.Close() // only the workload holds the peer now
	}
	if got := releaseInit(t, fifoPath); got != "0" {
		t.Errorf("fifo got %q, want exactly \"0\" then EOF", got)
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("workload exited %d; stdout %q, stderr %q", code, p.stdout.String(), p.stderr.String())
	}
	out := p.stdout.String()
	if console {
		select {
		case out = <-ptyOut:
		case <-time.After(10 * time.Second):
			t.Fatal("no EOF on the pty")
		}
		if p.stdout.Len() != 0 {
			t.Errorf("workload wrote to the init's stdout, not the terminal: %q", p.stdout.String())
		}
	}
	want := []string{
		"uid=1000 gid=1000 groups=10,20",
		"CapInh:\t0000000000000400",
		"CapPrm:\t0000000000000400",
		"CapEff:\t0000000000000400",
		"CapBnd:\t0000000000000401",
		"CapAmb:\t0000000000000400",
		"NoNewPrivs:\t1",
		"umask=0027",
		"cwd=/work",
		"nofile=123/456",
		"FOO=bar",
		"husk-vars=0",
		"open-fd=3",
	}
	t.Logf("workload output:\n%s", out)
	lines := strings.Split(out, "\n")
	for _, w := range want {
		if !slices.Contains(lines, w) {
			t.Errorf("workload output lacks %q:\n%s", w, out)
		}
	}
	if console {
		// setsid made the workload (pid 1) a session leader, with the pty
		// as its controlling terminal (tty_nr not 0).
		i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "pid=1 session-tty=1 ") })
		if i < 0 || strings.HasSuffix(lines[i], " 0") {
			t.Errorf("workload is not a session leader with a controlling terminal:\n%s", out)
		}
	}
	if n := strings.Count(out, "open-fd="); n != 1 {
		t.Errorf("workload has %d fds above 2 open, want only the preserved fd 3:\n%s", n, out)
	}
}

// The bootstrap forks (a new pid namespace) and the forked child becomes
// the init: the pid comes first on the socket, then the usual protocol.
func TestInitAfterBootstrapFork(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	becomeSubreaper(t)
	dir, rootfs := makeRootfs(t)
	fifoPath, fifo := makeFifo(t, dir)
	req := Request{SyncFD: 3, Unshare: unix.CLONE_NEWPID, Fork: true}
	p := startInit(t, initOptions{attr: &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}, env: req.Env()})

	pid, err := p.conn.RecvPid()
	if err != nil {
		t.Fatalf("RecvPid: %v (stderr %q)", err, p.stderr.String())
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), fmt.Sprintf("\nNSpid:\t%d\t1\n", pid)) {
		t.Errorf("reported pid %d is not pid 1 of a new pid namespace:\n%s", pid, status)
	}
	p.pid = pid // the init is the child, not the process we started
	plan := basePlan(t, p, rootfs, fifo)
	plan.Args = []string{"busybox", "sh", "-c", "echo pid=$$"}
	if err := p.conn.Exec(plan); err != nil {
		t.Fatalf("exec plan: %v", err)
	}
	if got := releaseInit(t, fifoPath); got != "0" {
		t.Errorf("fifo got %q, want \"0\"", got)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil || ws.ExitStatus() != 0 {
		t.Errorf("reap init %d: %v, status %#x", pid, err, ws)
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("intermediate exited %d", code)
	}
	if out := p.stdout.String(); out != "pid=1\n" {
		t.Errorf("workload printed %q, want \"pid=1\\n\"", out)
	}
}

// TestInitNotDumpable: the program makes an init non-dumpable before
// anything else. The init runs as uid 1000 of a user namespace whose root
// is host uid 100000, without any credential change that would clear the
// flag by itself; /proc/<pid>/fd then belongs to the namespace's root
// (100000) if not dumpable, to the process's own uid (101000) if dumpable.
// The sealed memfd is world-readable, so the exec itself does not make the
// init non-dumpable.
func TestInitNotDumpable(t *testing.T) {
	requireRoot(t)
	attr := userNamespace(false)
	attr.Unshareflags = 0
	attr.Credential = &syscall.Credential{Uid: 1000, Gid: 1000, NoSetGroups: true}
	p := startInit(t, initOptions{attr: attr})

	deadline := time.Now().Add(10 * time.Second)
	for {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.pid))
		if err == nil && string(comm) == "husk:init\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("init's name is %q (%v), want husk:init; stderr %q", comm, err, p.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/%d/fd", p.pid), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 100000 {
		t.Errorf("/proc/%d/fd belongs to uid %d, want 100000 (not dumpable)", p.pid, st.Uid)
	}
	// An answer shows the init got as far as its request loop (its
	// procfs is /proc here: it has no capabilities for a new one).
	if err := p.conn.WaitStarted(); err != nil {
		t.Fatal(err)
	}
	if err := p.conn.send(99, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.conn.recvOK(); err == nil || err.Error() != "init: unexpected frame type 99" {
		t.Errorf("answer to an unknown frame: %v", err)
	}
	if code := p.wait(t); code != 1 || p.stdout.Len() != 0 {
		t.Errorf("init exited %d with stdout %q, want 1 and nothing", code, p.stdout.String())
	}
}

// TestMountThroughHostProc: in a user namespace without its own pid
// namespace init cannot make a procfs and falls back to /proc; mounts
// still land on the target fd.
func TestMountThroughHostProc(t *testing.T) {
	requireRoot(t)
	attr := userNamespace(true)
	attr.Cloneflags &^= syscall.CLONE_NEWPID
	dir := t.TempDir()
	p := startInit(t, initOptions{attr: attr})
	requirePrivateMounts(t, p.pid)
	target := openPath(t, p.inInit(dir))
	if err := p.conn.Mount("tmpfs", "tmpfs", 0, "size=2m", target); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(p.inInit(dir), &sfs); err != nil {
		t.Fatal(err)
	}
	if sfs.Type != unix.TMPFS_MAGIC || uint64(sfs.Blocks)*uint64(sfs.Bsize) != 2<<20 {
		t.Errorf("init's %s: filesystem %#x of %d blocks, want the 2 MiB tmpfs", dir, sfs.Type, sfs.Blocks)
	}
	p.conn.Close()
	if code := p.wait(t); code != 1 || p.stdout.Len() != 0 || p.stderr.Len() != 0 {
		t.Errorf("init exited %d, stdout %q, stderr %q after EOF; want 1 and nothing", code, p.stdout.String(), p.stderr.String())
	}
}

// TestExecPlanWithLargeEnvironment: execve takes environments of a few MB
// (a quarter of the stack limit), so the plan that carries one may be
// larger than 1 MiB. 1.5 MB of environment reaches the workload whole.
func TestExecPlanWithLargeEnvironment(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	var stack unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_STACK, &stack); err != nil {
		t.Fatal(err)
	}
	const vars, size = 15, 100000 // each below execve's 128 KiB per string
	if stack.Cur != unix.RLIM_INFINITY && stack.Cur/4 < vars*size+64<<10 {
		t.Skipf("a stack limit of %d bytes leaves execve too little room for %d bytes of environment", stack.Cur, vars*size)
	}
	dir, rootfs := makeRootfs(t)
	fifoPath, fifo := makeFifo(t, dir)
	p := startInit(t, initOptions{attr: privateNamespaces()})
	plan := basePlan(t, p, rootfs, fifo)
	for i := range vars {
		plan.Env = append(plan.Env, fmt.Sprintf("BIG%02d=%s", i, strings.Repeat("x", size)))
	}
	plan.Args = []string{busyboxPath, "sh", "-c", `for i in 00 01 02 03 04 05 06 07 08 09 10 11 12 13 14; do eval "echo -n \${#BIG$i},"; done`}
	if err := p.conn.Exec(plan); err != nil {
		t.Fatalf("Exec: %v", err)
	}
	releaseInit(t, fifoPath)
	if code := p.wait(t); code != 0 {
		t.Fatalf("workload exited %d, stderr %q", code, p.stderr.String())
	}
	if want := strings.Repeat("100000,", vars); p.stdout.String() != want {
		t.Errorf("the workload's BIG00..BIG14 have the lengths %q, want %q", p.stdout.String(), want)
	}
}
