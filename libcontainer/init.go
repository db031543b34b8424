package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/huskrt/husk/libcontainer/configs"
	"github.com/huskrt/husk/libcontainer/hooks"
	"github.com/huskrt/husk/libcontainer/procfs"
	"github.com/huskrt/husk/libcontainer/rootfs"
	"golang.org/x/sys/unix"
)

// envInitSync names init's sync socket fd in its environment.
const envInitSync = "_HUSK_INITSYNC"

// Init is the container's init: the re-executed binary inside the new
// namespaces. It sets the container up as the parent's config says, waits
// to be started and execs the workload. It never returns.
func Init() {
	// Credentials and capabilities are per thread: everything from here to
	// execve must happen on this one.
	runtime.LockOSThread()
	syncFd, err := strconv.Atoi(os.Getenv(envInitSync))
	if err != nil {
		fmt.Fprintln(os.Stderr, "husk init: must be started by husk, not by hand")
		os.Exit(1)
	}
	os.Unsetenv(envInitSync)
	if os.Getenv("_HUSK_NSENTER") != "" {
		// The nsenter constructor consumes this variable; seeing it means
		// the binary was built without cgo and joined nothing.
		fmt.Fprintln(os.Stderr, "husk init: built without the nsenter bootstrap (cgo); cannot join namespaces")
		os.Exit(1)
	}
	sync := newSyncPipe(os.NewFile(uintptr(syncFd), "sync"))
	if err := runInit(sync); err != nil {
		var he *hookError
		msg := syncMsg{Type: msgError, Msg: err.Error(), Hook: errors.As(err, &he)}
		// The parent prints the error; say it on stderr only if it is gone.
		if sendErr := sync.send(msg); sendErr != nil {
			fmt.Fprintln(os.Stderr, "husk init:", err)
		}
		os.Exit(1)
	}
	panic("unreachable: runInit returns only on error")
}

// initState is what init carries from step to step.
type initState struct {
	sync  *syncPipe
	ic    initConfig
	cfg   *configs.Config
	proc  *procfs.Handle
	state []byte // OCI state for the in-container hooks
	// env and execPath of the workload, worked out before the exec.
	env      []string
	execPath string
}

func runInit(sync *syncPipe) error {
	var ic initConfig
	if err := sync.recv(&ic); err != nil {
		return fmt.Errorf("init: read config: %w", err)
	}
	if ic.Config == nil {
		return errors.New("init: no config")
	}
	s := &initState{sync: sync, ic: ic, cfg: ic.Config, state: ic.State}
	// Init's own fds (sync socket, fifo, console socket) were inherited
	// without close-on-exec; mark them (and anything else above the
	// preserved fds) now, so no hook started from here inherits them.
	if err := unix.CloseRange(uint(3+ic.PreservedFDs), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("init: mark fds close-on-exec: %w", err)
	}
	// Not dumpable: other processes in the container cannot ptrace us or
	// open our /proc entries (fds, exe) while we set up.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("init: set not dumpable: %w", err)
	}
	proc, err := procfs.Open()
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	s.proc = proc
	// exec.fifo is reopened for writing through the private procfs (so
	// neither the root nor /proc of the moment matters); the open blocks
	// until `start` opens the other end.
	fifoc := openFifoAsync(proc, ic.FifoFd)
	if err := s.setup(); err != nil {
		return err
	}
	// A fifo that could not even be opened must fail the create, not a
	// later start.
	select {
	case res := <-fifoc:
		if res.err != nil {
			return res.err
		}
		fifoc = alreadyOpened(res)
	default:
	}
	if err := sync.send(syncMsg{Type: msgReady}); err != nil {
		return err
	}
	sync.close()
	res := <-fifoc
	if res.err != nil {
		return res.err
	}
	return s.release(res.f)
}

// alreadyOpened returns a channel that yields res again.
func alreadyOpened(res fifoResult) <-chan fifoResult {
	c := make(chan fifoResult, 1)
	c <- res
	return c
}

type fifoResult struct {
	f   *os.File
	err error
}

func openFifoAsync(proc *procfs.Handle, fd int) <-chan fifoResult {
	c := make(chan fifoResult, 1)
	go func() {
		f, err := proc.Reopen(fd, unix.O_WRONLY)
		if err != nil {
			err = fmt.Errorf("init: open exec fifo: %w", err)
		}
		unix.Close(fd)
		c <- fifoResult{f: f, err: err}
	}()
	return c
}

// setup does everything between clone and the wait for `start`.
func (s *initState) setup() error {
	cfg := s.cfg
	if !s.ic.NoNewKeyring {
		if err := joinSessionKeyring(s.ic.ID); err != nil {
			return err
		}
	}
	proc := s.proc
	_, mountNs := cfg.Namespace(configs.NEWNS)
	if mountNs {
		if err := rootfs.Prepare(cfg, proc); err != nil {
			return fmt.Errorf("rootfs: %w", err)
		}
	}
	if err := s.createHooks(); err != nil {
		return err
	}
	if mountNs {
		if err := rootfs.Enter(cfg); err != nil {
			return fmt.Errorf("rootfs: %w", err)
		}
	} else if err := chrootOnly(cfg.Rootfs, cfg.Process); err != nil {
		return err
	}
	if err := s.setupConsole(); err != nil {
		return err
	}
	if mountNs {
		if err := rootfs.Finish(cfg, proc); err != nil {
			return fmt.Errorf("rootfs: %w", err)
		}
	}
	if err := s.setupNames(); err != nil {
		return err
	}
	if err := s.setupSysctl(); err != nil {
		return err
	}
	if cfg.Process == nil {
		// Allowed at create; `start` will fail (runtime-spec: start
		// MUST generate an error when process is not set).
		return nil
	}
	if p := cfg.Process.OOMScoreAdj; p != nil {
		if err := proc.WriteFile("self/oom_score_adj", []byte(strconv.Itoa(*p))); err != nil {
			return fmt.Errorf("process.oomScoreAdj: %w", err)
		}
	}
	if err := setRlimits(cfg.Process.Rlimits); err != nil {
		return err
	}
	return s.becomeUser()
}

// createHooks stops for the parent's prestart/createRuntime hooks, then runs
// the createContainer hooks here: in the container's namespaces, before
// pivot_root (runtime-spec config.md#createcontainer-hooks).
func (s *initState) createHooks() error {
	if !s.ic.HasCreateHooks {
		return nil
	}
	if err := s.sync.send(syncMsg{Type: msgHooks}); err != nil {
		return err
	}
	var m syncMsg
	if err := s.sync.recv(&m); err != nil {
		return fmt.Errorf("init: wait for createRuntime hooks: %w", err)
	}
	if m.Type != msgHooksDone {
		return fmt.Errorf("init: unexpected message %q", m.Type)
	}
	if err := hooks.Run("createContainer", s.cfg.Hooks.CreateContainer, s.state); err != nil {
		return &hookError{err}
	}
	return nil
}

func (s *initState) setupNames() error {
	if h := s.cfg.Hostname; h != "" {
		if err := unix.Sethostname([]byte(h)); err != nil {
			return fmt.Errorf("hostname %q: %w", h, err)
		}
	}
	if d := s.cfg.Domainname; d != "" {
		if err := unix.Setdomainname([]byte(d)); err != nil {
			return fmt.Errorf("domainname %q: %w", d, err)
		}
	}
	return nil
}

// setupSysctl writes linux.sysctl through the verified procfs handle; the
// kernel picks the namespace of the writer, which is the container's.
func (s *initState) setupSysctl() error {
	for k, v := range s.cfg.Sysctl {
		// Keys come as "net.ipv4.ip_forward" or, when a part has dots
		// (eth0.100), already in slash form.
		path := "sys/" + k
		if !strings.Contains(k, "/") {
			path = "sys/" + strings.ReplaceAll(k, ".", "/")
		}
		if err := s.proc.WriteFile(path, []byte(v)); err != nil {
			return fmt.Errorf("linux.sysctl[%q]: %w", k, err)
		}
	}
	return nil
}

func setRlimits(limits []configs.Rlimit) error {
	for _, l := range limits {
		// syscall.Setrlimit (not x/sys) so that the Go runtime forgets its
		// own NOFILE adjustment and execve keeps the configured value.
		if err := setrlimit(l.Type, l.Soft, l.Hard); err != nil {
			return fmt.Errorf("process.rlimits: type %d (soft %d, hard %d): %w", l.Type, l.Soft, l.Hard, err)
		}
	}
	return nil
}

func joinSessionKeyring(id string) error {
	_, err := unix.KeyctlJoinSessionKeyring("_ses." + id)
	// No keyrings in this kernel or not allowed here (user namespaces):
	// runc carries on as well.
	if err != nil && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EDQUOT) {
		return fmt.Errorf("init: join session keyring: %w", err)
	}
	return nil
}

// stateWithStatus rewrites the status of the OCI state JSON.
func stateWithStatus(state []byte, st Status) []byte {
	var m map[string]any
	if json.Unmarshal(state, &m) != nil {
		return state
	}
	m["status"] = st
	out, err := json.Marshal(m)
	if err != nil {
		return state
	}
	return out
}

// release runs once `start` opened the fifo: startContainer hooks, then the
// workload. Errors from here on go to the fifo, which `start` reports.
func (s *initState) release(fifo *os.File) error {
	if _, err := fifo.Write([]byte("0")); err != nil {
		return fmt.Errorf("init: write exec fifo: %w", err)
	}
	err := s.execWorkload()
	// Reaching here means the exec (or a step before it) failed.
	fifo.Write([]byte(err.Error()))
	return err
}

// chrootOnly is the rootfs step of a container without a mount namespace
// (it shares the runtime's): no mount may be made, so the process is only
// confined to the rootfs with chroot, as runc does.
func chrootOnly(rootfs string, p *configs.Process) error {
	if err := unix.Chroot(rootfs); err != nil {
		return fmt.Errorf("rootfs: chroot %s: %w", rootfs, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("rootfs: chdir /: %w", err)
	}
	// A missing cwd is made as with a mount namespace. Inside the chroot
	// no procfs is mounted by husk, so no magic link leads out of it.
	if p != nil && p.Cwd != "" {
		if err := os.MkdirAll(p.Cwd, 0o755); err != nil {
			return fmt.Errorf("process.cwd %s: %w", p.Cwd, err)
		}
	}
	return nil
}
