package libcontainer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/huskrt/husk/libcontainer/capabilities"
	"github.com/huskrt/husk/libcontainer/configs"
	"github.com/huskrt/husk/libcontainer/hooks"
	"github.com/huskrt/husk/libcontainer/nsenter"
	"github.com/huskrt/husk/libcontainer/timerslack"
	"github.com/huskrt/husk/libcontainer/user"
	"golang.org/x/sys/unix"
)

// envInitSync names the init's sync socket fd in its environment.
const envInitSync = "_HUSK_INITSYNC"

// CreateOptions are the per-invocation settings of Create.
type CreateOptions struct {
	// Bundle is the bundle directory (recorded in the state).
	Bundle string
	// ConsoleSocket is the path of an AF_UNIX socket that receives the
	// pty master when the process has a terminal.
	ConsoleSocket string
	// ConsoleConn is an already connected console socket (used instead of
	// ConsoleSocket, e.g. by `run` in the foreground).
	ConsoleConn *os.File
	// PreserveFDs passes the caller's fds 3 .. 3+PreserveFDs-1 to the
	// workload at the same numbers.
	PreserveFDs int
	// NoNewKeyring keeps the caller's session keyring.
	NoNewKeyring bool
	// Stdio of init (and so of the workload); nil means the caller's.
	Stdin, Stdout, Stderr *os.File
	// Subreaper makes the caller a child subreaper, so Wait works even when
	// init is a grandchild (namespaces joined through nsenter).
	Subreaper bool
}

// Create creates a container from cfg and leaves its init waiting for
// Start. On any error nothing is left: no process, no state directory.
func (r *Root) Create(id string, cfg *configs.Config, opts CreateOptions) (c *Container, err error) {
	if err := CheckID(id); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return nil, fmt.Errorf("create root %s: %w", r.dir, err)
	}
	dir := filepath.Join(r.dir, id)
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("create %s: %w", id, ErrExist)
		}
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// A failed create removes its directory before it lets go of the
	// lock: a delete waiting for the lock must not find its state.
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
		unlock()
	}()

	fifoPath := filepath.Join(dir, execFifoName)
	if err := unix.Mkfifo(fifoPath, 0o622); err != nil {
		return nil, fmt.Errorf("create exec fifo: %w", err)
	}
	// mkfifo honours the umask; init may run as a mapped uid that needs
	// the "other" write bit.
	if err := os.Chmod(fifoPath, 0o622); err != nil {
		return nil, fmt.Errorf("chmod exec fifo: %w", err)
	}
	if opts.Subreaper {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			return nil, fmt.Errorf("set child subreaper: %w", err)
		}
	}

	c = &Container{id: id, dir: dir, log: r.log, childSlack: r.childSlack, saved: &savedState{
		ID:      id,
		Bundle:  opts.Bundle,
		Created: time.Now().UTC(),
		Owner:   ownerName(),
		Config:  cfg,
	}}
	p, err := startInit(c, fifoPath, opts)
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	c.child = p
	debugf(c.log, "created container %s: init pid %d, bundle %s", id, c.saved.InitPid, opts.Bundle)
	return c, nil
}

// ownerName is the caller's user name from the host's /etc/passwd (the
// state's "owner"); os/user is avoided to keep the binary small.
func ownerName() string {
	return user.NameFS(os.DirFS("/"), uint32(os.Getuid()))
}

// initProcess is the parent's handle on a container init it started.
type initProcess struct {
	// child is the process husk started: the init, or, when the
	// bootstrap forks, the intermediate that reports the init's pid and
	// exits. childReaped is set once it was waited for.
	child       int
	childReaped bool
	// pid is the container init: child, or child's child when the
	// nsenter bootstrap forked.
	pid int
	// forked is true when init is not child but its child.
	forked bool
	// pidfd refers to the init once its pid is known (-1 before), so that
	// kill never signals a recycled pid; reaped is set once it was waited
	// for.
	pidfd  int
	reaped bool
}

func (p *initProcess) kill() {
	switch {
	case p.reaped:
	case p.pidfd >= 0:
		unix.PidfdSendSignal(p.pidfd, unix.SIGKILL, nil, 0)
	case p.pid > 0 && !p.forked:
		// Our child, not yet waited for: its pid cannot be reused.
		unix.Kill(p.pid, unix.SIGKILL)
	}
	if p.child > 0 && !p.childReaped {
		unix.Kill(p.child, unix.SIGKILL)
	}
	// The forked init, once its pid is known, is a grandchild (ours to
	// reap only under a subreaper); before that p.pid is the child.
	if p.forked && !p.reaped && p.pid != p.child {
		var ws unix.WaitStatus
		unix.Wait4(p.pid, &ws, 0, nil)
	}
	p.waitChild()
	p.reaped = true
}

// waitChild reaps the process husk started, once.
func (p *initProcess) waitChild() (unix.WaitStatus, error) {
	var ws unix.WaitStatus
	if p.childReaped {
		return ws, errors.New("already waited for")
	}
	for {
		_, err := unix.Wait4(p.child, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		p.childReaped = true
		return ws, err
	}
}

// startInit spawns the container's init and drives it until it waits on
// exec.fifo, running the create-time hooks when it asks for them.
func startInit(c *Container, fifoPath string, opts CreateOptions) (*initProcess, error) {
	cfg := c.saved.Config
	plan, err := planNamespaces(cfg)
	if err != nil {
		return nil, err
	}
	defer plan.close()
	terminal := cfg.Process != nil && cfg.Process.Terminal
	if terminal && opts.ConsoleSocket == "" && opts.ConsoleConn == nil {
		return nil, errors.New("process.terminal is true but no --console-socket was given")
	}
	// As runc: a console socket without a terminal is a caller's mistake
	// that would leave it waiting for a pty that never comes.
	if !terminal && opts.ConsoleSocket != "" {
		return nil, errors.New("--console-socket was given but process.terminal is false")
	}
	// No fd of the caller may reach the container (CVE-2016-9962,
	// CVE-2024-21626): everything above the preserved fds is made
	// close-on-exec before init is spawned.
	if err := unix.CloseRange(uint(3+opts.PreserveFDs), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return nil, fmt.Errorf("mark fds close-on-exec: %w", err)
	}
	dropUnavailableCaps(cfg.Process, c.log)
	initProg, err := nsenter.SealedInit()
	if err != nil {
		return nil, err
	}
	debugf(c.log, "init: clone flags %#x, nsenter joins %d, unshare %#x, fork %v",
		plan.cloneFlags, len(plan.cJoins), plan.cUnshare, plan.cFork)
	defer initProg.Close()
	fifo, err := os.OpenFile(fifoPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open exec fifo: %w", err)
	}
	defer fifo.Close()
	parentSock, childSock, err := socketPair()
	if err != nil {
		return nil, err
	}
	defer parentSock.Close()
	defer childSock.Close()

	extra, err := dupPreservedFDs(opts.PreserveFDs)
	if err != nil {
		return nil, err
	}
	for _, f := range extra {
		defer f.Close()
	}
	syncFd := 3 + len(extra)
	extra = append(extra, childSock)
	var console *os.File
	if terminal {
		if console = opts.ConsoleConn; console == nil {
			if console, err = dialConsoleSocket(opts.ConsoleSocket); err != nil {
				return nil, err
			}
			defer console.Close()
		}
	}
	// The bootstrap consumes its own variables; the C init finds its sync
	// fd under a name of its own.
	env := []string{envInitSync + "=" + strconv.Itoa(syncFd)}
	nsenterFdBase := 3 + len(extra)
	env = append(env, plan.nsenterEnv(syncFd, nsenterFdBase)...)
	extra = append(extra, plan.cJoins...)
	progPath, progEnv := passProgram(&extra, initProg)
	env = append(env, progEnv)

	attr := &syscall.ProcAttr{
		Env:   env,
		Files: childFiles(orStd(opts.Stdin, os.Stdin), orStd(opts.Stdout, os.Stdout), orStd(opts.Stderr, os.Stderr), extra),
		Sys: &syscall.SysProcAttr{
			Cloneflags: plan.cloneFlags,
			Setsid:     true,
		},
	}
	if cfg.HasNewNamespace(configs.NEWUSER) {
		attr.Sys.UidMappings = idMaps(cfg.UIDMappings)
		attr.Sys.GidMappings = idMaps(cfg.GIDMappings)
		attr.Sys.GidMappingsEnableSetgroups = true
		attr.Sys.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
	}
	// syscall.ForkExec rather than os/exec: the init's stdio are files
	// already, and os/exec's first start in a process probes CLONE_PIDFD
	// with an extra child (≈ 0.2 ms of a `run`).
	var child int
	err = plan.run(func() error {
		return timerslack.Do(c.childSlack, func() error {
			var err error
			child, err = syscall.ForkExec(progPath, []string{"husk-init"}, attr)
			return err
		})
	})
	keepAlive(extra)
	if err != nil {
		return nil, fmt.Errorf("start init: %w", err)
	}
	childSock.Close()
	p := &initProcess{child: child, pid: child, forked: plan.cFork, pidfd: -1}
	defer func() {
		if p.pidfd >= 0 {
			unix.Close(p.pidfd)
			p.pidfd = -1
		}
	}()
	setup := &initSetup{c: c, cfg: cfg, p: p, conn: nsenter.NewConn(parentSock), fifo: fifo, console: console, opts: opts}
	if err := driveInit(setup); err != nil {
		p.kill()
		var he *hookError
		if errors.As(err, &he) {
			// runtime-spec lifecycle: a failed create-time hook stops the
			// container and continues at step 12, so poststop hooks run.
			for _, perr := range hooks.RunAll("poststop", cfg.Hooks.Poststop, c.hookState(Stopped), c.hostLauncher()) {
				warnf(c.log, "%v", perr)
			}
		}
		return nil, err
	}
	return p, nil
}

// passProgram adds the sealed init program to a child's extra files and
// returns the path the child execs it by, and the variable that tells the
// program to close that fd first thing. The child's own copy is the only
// one whose number is safe: Go's child code moves fds about (its error
// pipe, files below their slot) into numbers just above the highest it
// was given, so a close-on-exec fd of ours there may be overwritten
// before execve looks the path up.
func passProgram(extra *[]*os.File, prog *os.File) (path, env string) {
	*extra = append(*extra, prog)
	fd := 3 + len(*extra) - 1
	return "/proc/self/fd/" + strconv.Itoa(fd), nsenter.EnvProgramFD + "=" + strconv.Itoa(fd)
}

// dupPreservedFDs returns duplicates of the caller's fds 3 .. 3+n-1, to be
// passed as the init's ExtraFiles: an *os.File closes its fd when it is
// garbage-collected, and the caller's own fds must stay the caller's.
func dupPreservedFDs(n int) ([]*os.File, error) {
	files := make([]*os.File, 0, n)
	for fd := 3; fd < 3+n; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			closeAll(files)
			return nil, fmt.Errorf("--preserve-fds: fd %d is not open: %w", fd, err)
		}
		dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			closeAll(files)
			return nil, fmt.Errorf("--preserve-fds: dup fd %d: %w", fd, err)
		}
		files = append(files, os.NewFile(uintptr(dup), "preserved-fd-"+strconv.Itoa(fd)))
	}
	return files, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// hookError marks a failure of a create-time hook (prestart,
// createRuntime, createContainer).
type hookError struct{ err error }

func (e *hookError) Error() string { return e.err.Error() }
func (e *hookError) Unwrap() error { return e.err }

// driveInit learns the init's pid (from the bootstrap when it forked),
// records it and sets the container up; it returns once the init waits on
// exec.fifo.
func driveInit(s *initSetup) error {
	p := s.p
	if p.forked {
		// The nsenter intermediate reports the real init, then exits.
		pid, err := s.conn.RecvPid()
		if errors.Is(err, io.EOF) {
			return initExited(p)
		}
		if err != nil {
			return err
		}
		p.pid = pid
		p.waitChild()
	}
	// Opened before the start time is read: if the pid was recycled in
	// between, the start time will not match the saved one later.
	pidfd, err := unix.PidfdOpen(p.pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return initExited(p)
	}
	if err != nil {
		// The init lives (EMFILE, ENOMEM...): it must not be waited for.
		// Its pid was reported a moment ago and it cannot have been
		// reaped (it waits for our requests), so the pid is still its.
		unix.Kill(p.pid, unix.SIGKILL)
		return fmt.Errorf("pidfd of init %d: %w", p.pid, err)
	}
	p.pidfd = pidfd
	if err := s.c.recordInit(p.pid); err != nil {
		return err
	}
	// Saved now, so that a create that dies from here on leaves a state
	// `delete -f` can find and clean up (init's pid included).
	if err := writeStateFile(s.c.dir, s.c.saved); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	// The bootstrap may still be joining namespaces; the setup joins the
	// init's by pid, so it must wait for the init to say it is in place.
	err = s.conn.WaitStarted()
	if err == nil {
		err = s.run()
	}
	if err == nil && len(s.cfg.Hooks.StartContainer) > 0 && s.creds != nil {
		s.c.saved.ProcessCreds = s.creds
		if err := writeStateFile(s.c.dir, s.c.saved); err != nil {
			return fmt.Errorf("save state: %w", err)
		}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, unix.EPIPE) || errors.Is(err, unix.ECONNRESET) {
		// The init died (or was killed) during the setup, how it ended
		// says more than the broken socket, unless the broken socket was
		// another one (a console socket whose far end is gone) and the
		// init lives: waiting for it would hang.
		if initGone(p.pidfd, 100*time.Millisecond) {
			return initExited(p)
		}
	}
	return err
}

// initGone reports whether the process behind pidfd has exited, waiting
// at most timeout for it: an init's socket reaches EOF while the init is
// exiting, a moment before its pidfd says so.
func initGone(pidfd int, timeout time.Duration) bool {
	if pidfd < 0 {
		return true
	}
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		n, err := unix.Poll(fds, int(time.Until(deadline).Milliseconds()))
		if errors.Is(err, unix.EINTR) && time.Now().Before(deadline) {
			continue
		}
		return err == nil && n > 0
	}
}

func (c *Container) recordInit(pid int) error {
	start, _, err := processStartTime(pid)
	if err != nil {
		return fmt.Errorf("read init start time: %w", err)
	}
	c.saved.InitPid = pid
	c.saved.InitStartTime = start
	return nil
}

func initExited(p *initProcess) error {
	p.reaped = true
	if p.forked && p.pid != p.child {
		var ws unix.WaitStatus
		if _, err := unix.Wait4(p.pid, &ws, 0, nil); err != nil {
			return fmt.Errorf("container init %d exited before it was ready", p.pid)
		}
		return fmt.Errorf("container init exited before it was ready (%s)", describeWait(ws))
	}
	ws, err := p.waitChild()
	if err != nil {
		return fmt.Errorf("container init exited before it was ready (wait: %v)", err)
	}
	return fmt.Errorf("container init exited before it was ready (%s)", describeWait(ws))
}

func describeWait(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return "signal " + ws.Signal().String()
	}
	return "exit status " + strconv.Itoa(ws.ExitStatus())
}

// childFiles lists the fds of stdio and extra for syscall.ProcAttr.Files.
func childFiles(stdin, stdout, stderr *os.File, extra []*os.File) []uintptr {
	files := []uintptr{stdin.Fd(), stdout.Fd(), stderr.Fd()}
	for _, f := range extra {
		files = append(files, f.Fd())
	}
	return files
}

// keepAlive keeps files (and so their fds) from being closed by the
// garbage collector until the child has them.
func keepAlive(files []*os.File) {
	for _, f := range files {
		runtime.KeepAlive(f)
	}
}

func orStd(f, def *os.File) *os.File {
	if f != nil {
		return f
	}
	return def
}

func idMaps(m []configs.IDMap) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(m))
	for i, e := range m {
		out[i] = syscall.SysProcIDMap{ContainerID: int(e.ContainerID), HostID: int(e.HostID), Size: int(e.Size)}
	}
	return out
}

func socketPair() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "sync-parent"), os.NewFile(uintptr(fds[1]), "sync-child"), nil
}

// dialConsoleSocket connects to the engine's console socket (package net
// is avoided to keep the binary small; this is one connect(2)).
func dialConsoleSocket(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("--console-socket %s: socket: %w", path, err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("--console-socket %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// dropUnavailableCaps removes from the process's capability sets those
// that this runtime does not hold in its own bounding set: init could not
// grant them (capset fails with EPERM), as on hosts that run husk with a
// reduced bounding set. Each is reported as a warning; a container never
// gets more than asked for.
func dropUnavailableCaps(p *configs.Process, log Logger) {
	if p == nil || p.Capabilities == nil {
		return
	}
	missing := map[int]bool{}
	keep := func(set []int) []int {
		out := set[:0:0]
		for _, c := range set {
			held, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
			if err == nil && held == 0 {
				missing[c] = true
				continue
			}
			out = append(out, c)
		}
		return out
	}
	caps := p.Capabilities
	caps.Bounding = keep(caps.Bounding)
	caps.Effective = keep(caps.Effective)
	caps.Permitted = keep(caps.Permitted)
	caps.Inheritable = keep(caps.Inheritable)
	caps.Ambient = keep(caps.Ambient)
	for c := range missing {
		warnf(log, "process.capabilities: %s is not in the runtime's bounding set; not granted", capabilities.Name(c))
	}
}
