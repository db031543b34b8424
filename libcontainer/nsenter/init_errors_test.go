package nsenter

import (
	"errors"
	"io"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestExecPlanErrors: a step of the plan that fails is a FrameError with
// the step's message (the texts of the former Go init) and errno, and
// init exits 1 without running anything.
func TestExecPlanErrors(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	const bindService, netRaw, sysAdmin = 1 << unix.CAP_NET_BIND_SERVICE, 1 << unix.CAP_NET_RAW, 1 << unix.CAP_SYS_ADMIN
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, p *ExecPlan)
		errno  syscall.Errno
		msg    string
	}{{
		name:   "missing cwd",
		change: func(t *testing.T, p *ExecPlan) { p.Cwd = "/nonexistent" },
		errno:  unix.ENOENT,
		msg:    "process.cwd /nonexistent: no such file or directory",
	}, {
		name:   "missing executable",
		change: func(t *testing.T, p *ExecPlan) { p.Args = []string{"/bin/nothere"} },
		errno:  unix.ENOENT,
		msg:    "process.args[0]: exec /bin/nothere: no such file or directory",
	}, {
		name:   "not in PATH",
		change: func(t *testing.T, p *ExecPlan) { p.Args = []string{"nothere"} },
		msg:    `process.args[0]: exec: "nothere": executable file not found in $PATH`,
	}, {
		name: "no PATH at all",
		change: func(t *testing.T, p *ExecPlan) {
			p.Args, p.Env = []string{"busybox"}, []string{"PATH="}
		},
		msg: `process.args[0]: exec: "busybox": executable file not found in $PATH`,
	}, {
		name:   "directory",
		change: func(t *testing.T, p *ExecPlan) { p.Args = []string{"/bin"} },
		errno:  unix.EISDIR,
		msg:    "process.args[0]: exec /bin: is a directory",
	}, {
		// Checked as the workload's user (uid 1000): 0644 is not runnable.
		name:   "not executable",
		change: func(t *testing.T, p *ExecPlan) { p.Args = []string{"/bin/noexec"} },
		errno:  unix.EACCES,
		msg:    "process.args[0]: exec /bin/noexec: permission denied",
	}, {
		name: "ambient not inheritable",
		change: func(t *testing.T, p *ExecPlan) {
			p.Caps = CapSets{Bounding: netRaw, Permitted: netRaw, Effective: netRaw, Ambient: netRaw}
		},
		errno: unix.EPERM,
		msg:   "capabilities: raise ambient CAP_NET_RAW: operation not permitted",
	}, {
		name: "effective beyond permitted",
		change: func(t *testing.T, p *ExecPlan) {
			p.Caps = CapSets{Bounding: bindService, Permitted: bindService, Effective: bindService | sysAdmin}
		},
		errno: unix.EPERM,
		msg:   "capabilities: capset: effective CAP_SYS_ADMIN not in permitted set: operation not permitted",
	}, {
		name:   "bad rlimit",
		change: func(t *testing.T, p *ExecPlan) { p.Rlimits = []Rlimit{{Type: unix.RLIMIT_NOFILE, Soft: 10, Hard: 5}} },
		errno:  unix.EINVAL,
		msg:    "process.rlimits: type 7 (soft 10, hard 5): invalid argument",
	}, {
		name: "fifo is not a fifo",
		change: func(t *testing.T, p *ExecPlan) {
			p.Fifo = openPath(t, t.TempDir())
		},
		errno: unix.EISDIR,
		msg:   "init: open exec fifo: is a directory",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			dir, rootfs := makeRootfs(t)
			_, fifo := makeFifo(t, dir)
			p := startInit(t, initOptions{attr: privateNamespaces()})
			plan := basePlan(t, p, rootfs, fifo)
			tc.change(t, plan)
			err := p.conn.Exec(plan)
			var ie *InitError
			if !errors.As(err, &ie) || ie.Msg != tc.msg || ie.Errno != tc.errno {
				t.Errorf("Exec returned %#v (%v); want errno %d, message %q", err, err, tc.errno, tc.msg)
			}
			if code := p.wait(t); code != 1 || p.stdout.Len() != 0 {
				t.Errorf("init exited %d, stdout %q; want 1 and nothing", code, p.stdout.String())
			}
		})
	}
}

// TestSetgroupsDenied: in a user namespace that denies setgroups, asking
// for no groups is fine, asking for some is an error.
func TestSetgroupsDenied(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	for _, tc := range []struct {
		groups []uint32
		msg    string
	}{
		{nil, ""},
		{[]uint32{10}, "capabilities: setgroups [10]: operation not permitted"},
	} {
		dir, rootfs := makeRootfs(t)
		fifoPath, fifo := makeFifo(t, dir)
		p := startInit(t, initOptions{attr: userNamespace(false)})
		plan := basePlan(t, p, rootfs, fifo)
		plan.AdditionalGids = tc.groups
		err := p.conn.Exec(plan)
		if tc.msg == "" {
			if err != nil {
				t.Fatalf("groups %v: %v", tc.groups, err)
			}
			if got := releaseInit(t, fifoPath); got != "0" {
				t.Errorf("fifo got %q", got)
			}
			if code := p.wait(t); code != 0 {
				t.Errorf("workload exited %d; stderr %q", code, p.stderr.String())
			}
			continue
		}
		var ie *InitError
		if !errors.As(err, &ie) || ie.Msg != tc.msg || ie.Errno != unix.EPERM {
			t.Errorf("groups %v: Exec returned %v, want %q", tc.groups, err, tc.msg)
		}
	}
}

// TestInitReleaseErrors: failures after init answered the plan go to the
// fifo, after the '0', and to stderr.
func TestInitReleaseErrors(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	for _, tc := range []struct {
		name   string
		change func(p *ExecPlan)
		fifo   string
	}{
		{"no process", func(p *ExecPlan) { p.HasProcess = false; p.Args = nil },
			"0process: not set in config.json; nothing to start"},
		{"exec fails", func(p *ExecPlan) { p.Args = []string{"/bin/bad"} },
			"0exec /bin/bad: exec format error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, rootfs := makeRootfs(t)
			fifoPath, fifo := makeFifo(t, dir)
			p := startInit(t, initOptions{attr: privateNamespaces()})
			plan := basePlan(t, p, rootfs, fifo)
			tc.change(plan)
			if err := p.conn.Exec(plan); err != nil {
				t.Fatalf("Exec: %v", err)
			}
			if got := releaseInit(t, fifoPath); got != tc.fifo {
				t.Errorf("fifo got %q, want %q", got, tc.fifo)
			}
			code := p.wait(t)
			if want := "husk init: " + tc.fifo[1:] + "\n"; code != 1 || p.stderr.String() != want {
				t.Errorf("init exited %d, stderr %q; want 1 and %q", code, p.stderr.String(), want)
			}
		})
	}
}

// TestInitProtocolErrors: EOF before the plan ends init quietly; a frame
// it does not understand ends it with an error.
func TestInitProtocolErrors(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		name string
		send func(c *Conn) error
		msg  string // "" for no answer at all
	}{
		{"EOF", func(c *Conn) error { return c.f.Close() }, ""},
		{"unknown frame type", func(c *Conn) error { return c.send(99, nil) }, "init: unexpected frame type 99"},
		{"mount without target", func(c *Conn) error { return c.send(FrameMount, []byte{1, 2}) },
			"init: malformed mount request (2 bytes, 0 fds)"},
		{"truncated plan", func(c *Conn) error { return c.send(FrameExec, []byte{0}) },
			"init: exec plan: truncated header: protocol error"},
		{"plan without fds", func(c *Conn) error {
			payload, _, err := (&ExecPlan{Root: os.Stdin, Fifo: os.Stdin}).encode()
			if err != nil {
				return err
			}
			return c.send(FrameExec, payload)
		}, "init: exec plan: want 2 fds: root, fifo: protocol error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startInit(t, initOptions{attr: privateNamespaces()})
			if err := p.conn.WaitStarted(); err != nil {
				t.Fatal(err)
			}
			if err := tc.send(p.conn); err != nil {
				t.Fatal(err)
			}
			if tc.msg != "" {
				err := p.conn.recvOK()
				var ie *InitError
				if !errors.As(err, &ie) || ie.Msg != tc.msg {
					t.Errorf("answer %v, want %q", err, tc.msg)
				}
				if _, _, err := p.conn.recv(); err != io.EOF {
					t.Errorf("after the error: %v, want EOF", err)
				}
			}
			if code := p.wait(t); code != 1 || p.stdout.Len() != 0 || p.stderr.Len() != 0 {
				t.Errorf("init exited %d, stdout %q, stderr %q; want 1 and nothing", code, p.stdout.String(), p.stderr.String())
			}
		})
	}
}

// TestCwdOutsideRoot: a cwd that leads out of the root through an fd the
// init inherited (CVE-2024-21626) is refused.
func TestCwdOutsideRoot(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	dir, rootfs := makeRootfs(t)
	_, fifo := makeFifo(t, dir)
	outside, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer outside.Close()
	// fd 3 is the sync socket, fd 4 the leaked host directory.
	p := startInit(t, initOptions{attr: privateNamespaces(), nsFiles: []*os.File{outside}})
	requirePrivateMounts(t, p.pid)
	proc := openPath(t, p.inInit(rootfs+"/proc"))
	if err := p.conn.Mount("proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "", proc); err != nil {
		t.Fatalf("mount proc: %v", err)
	}
	plan := basePlan(t, p, rootfs, fifo)
	plan.UID, plan.GID = 0, 0 // root, so permissions do not stop the chdir first
	plan.Cwd = "/proc/self/fd/4"
	err = p.conn.Exec(plan)
	want := `process.cwd /proc/self/fd/4: resolves outside the container ("(unreachable)` + dir + `")`
	var ie *InitError
	if !errors.As(err, &ie) || ie.Msg != want {
		t.Errorf("Exec returned %v, want %q", err, want)
	}
	if code := p.wait(t); code != 1 || p.stdout.Len() != 0 {
		t.Errorf("init exited %d, stdout %q; want 1 and nothing", code, p.stdout.String())
	}
}
