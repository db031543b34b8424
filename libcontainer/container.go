package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/huskrt/husk/libcontainer/configs"
	"github.com/huskrt/husk/libcontainer/hooks"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Container is a container known to a Root. Its methods may be called from
// any process; the ones that change the container take its lock.
type Container struct {
	id    string
	dir   string
	saved *savedState
	log   Logger
	// childSlack: see Root.SetChildTimerSlack.
	childSlack uint64
	// child is set only in the process that created the container while it
	// is that process's child (or grandchild under a subreaper): Wait needs it.
	child *initProcess
}

// ID returns the container's id.
func (c *Container) ID() string { return c.id }

// Config returns the container's configuration as it was created.
func (c *Container) Config() *configs.Config { return c.saved.Config }

// Pid returns the host pid of the container's init (0 if never started).
func (c *Container) Pid() int { return c.saved.InitPid }

// Status returns the container's current status.
func (c *Container) Status() Status { return statusOf(c.dir, c.saved) }

// State returns the container's state, as `state` prints it.
func (c *Container) State() *State {
	st := c.Status()
	pid := c.saved.InitPid
	if st == Stopped {
		pid = 0
	}
	cfg := c.saved.Config
	return &State{
		// The version of the spec husk implements, as runc reports it.
		OCIVersion:  specs.Version,
		ID:          c.id,
		Pid:         pid,
		Status:      st,
		Bundle:      c.saved.Bundle,
		Rootfs:      cfg.Rootfs,
		Created:     c.saved.Created,
		Annotations: cfg.Annotations,
		Owner:       c.saved.Owner,
	}
}

// hookState is the OCI state JSON given to hooks on stdin.
func (c *Container) hookState(status Status) []byte {
	cfg := c.saved.Config
	data, _ := json.Marshal(ociState{
		OCIVersion:  specs.Version,
		ID:          c.id,
		Status:      status,
		Pid:         c.saved.InitPid,
		Bundle:      c.saved.Bundle,
		Annotations: cfg.Annotations,
	})
	return data
}

// Signal sends sig to the container's init. It fails with "container not
// running" when init is gone, and never signals a reused pid: the pidfd is
// opened first and the start time checked after.
func (c *Container) Signal(sig unix.Signal) error {
	fd, err := c.saved.openInitPidfd()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return errNotRunning
		}
		return fmt.Errorf("signal %d to pid %d: %w", sig, c.saved.InitPid, err)
	}
	return nil
}

// Start releases a created container's init to exec the workload, then
// runs the poststart hooks. It returns once the workload has been exec'd.
func (c *Container) Start() error {
	unlock, err := c.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if st := c.Status(); st != Created {
		return fmt.Errorf("cannot start a container that is %s (only a created one)", st)
	}
	// startContainer hooks run as part of start, in the container's
	// namespaces, before the workload is exec'd; a failure stops the
	// container (runtime-spec config.md#startcontainer-hooks).
	// Without a process the init refuses to start (below) and nothing is
	// exec'd, so no startContainer hook runs either.
	if h := c.saved.Config.Hooks.StartContainer; len(h) > 0 && c.saved.Config.Process != nil {
		if c.saved.ProcessCreds == nil {
			// Never fall back to running the image's hook as full root.
			return errors.New("start: startContainer hooks: the state lacks the workload's credentials (created by an older husk?); delete and create the container again")
		}
		place := hookPlace{creds: c.saved.ProcessCreds, process: c.saved.Config.Process}
		if _, mountNs := c.saved.Config.Namespace(configs.NEWNS); !mountNs {
			place.chroot = c.saved.Config.Rootfs
		}
		pidfd, err := c.saved.openInitPidfd()
		if err != nil {
			return fmt.Errorf("start: startContainer hooks: %w", err)
		}
		err = hooks.RunIn("startContainer", h, c.hookState(Created), inContainer(c.saved.Config, c.saved.InitPid, pidfd, place, c.childSlack))
		unix.Close(pidfd)
		if err != nil {
			if kerr := c.killAndWait(); kerr != nil {
				warnf(c.log, "stop container after failed startContainer hook: %v", kerr)
			}
			return err
		}
	}
	if err := c.releaseInit(); err != nil {
		return err
	}
	debugf(c.log, "started container %s (init pid %d)", c.id, c.saved.InitPid)
	// runtime-spec 1.3 lifecycle step 9: a failing poststart hook is an
	// error and stops the container (delete then finishes the lifecycle).
	if err := hooks.RunIn("poststart", c.saved.Config.Hooks.Poststart, c.hookState(Running), c.hostLauncher()); err != nil {
		if kerr := c.killAndWait(); kerr != nil {
			warnf(c.log, "stop container after failed poststart hook: %v", kerr)
		}
		return err
	}
	return nil
}

// releaseInit opens exec.fifo for reading, which lets init's blocked open
// for writing complete; init writes the byte '0', then keeps the fifo open
// until its execve closes it (close-on-exec). EOF therefore means "exec'd";
// any text after the byte is init's error from the last steps.
func (c *Container) releaseInit() error {
	// The pidfd comes first: once the fifo is open, a short-lived
	// workload may exit before we could look at it.
	pidfd, err := c.saved.openInitPidfd()
	if err != nil {
		return fmt.Errorf("start: init: %w", err)
	}
	defer unix.Close(pidfd)
	fifoPath := filepath.Join(c.dir, execFifoName)
	fifo, err := os.OpenFile(fifoPath, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("start: open %s: %w", fifoPath, err)
	}
	defer fifo.Close()
	// Once init is released the status must no longer be "created", even
	// if this process dies now: the fifo goes as soon as it is open.
	os.Remove(fifoPath)
	out, err := readUntilExec(int(fifo.Fd()), pidfd)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if len(out) == 0 {
		return errors.New("start: container init exited before it was released")
	}
	if out[0] != '0' {
		return fmt.Errorf("start: unexpected data on exec.fifo")
	}
	if len(out) > 1 {
		return fmt.Errorf("start: %s", out[1:])
	}
	return nil
}

// readUntilExec reads the fifo until EOF (init exec'd or died after
// writing), or until init dies without ever opening its end: a fifo reader
// sees no hangup before a first writer, so the pidfd tells that case.
func readUntilExec(fifo, pidfd int) ([]byte, error) {
	var out []byte
	buf := make([]byte, 4096)
	for {
		fds := []unix.PollFd{{Fd: int32(fifo), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return out, fmt.Errorf("poll exec.fifo: %w", err)
		}
		initGone := fds[1].Revents != 0
		if fds[0].Revents == 0 {
			if initGone {
				return out, nil
			}
			continue
		}
		n, err := unix.Read(fifo, buf)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			if initGone {
				return out, nil
			}
			continue
		}
		if err != nil {
			return out, fmt.Errorf("read exec.fifo: %w", err)
		}
		if n == 0 {
			return out, nil
		}
		out = append(out, buf[:n]...)
		if len(out) > 64<<10 {
			return out, errors.New("too much data on exec.fifo")
		}
	}
}

// Destroy deletes the container: a stopped or created one is removed (a
// created one killed first), a running or paused one only with force.
// Poststop hooks run after the container is gone; their failure is logged,
// not returned (runtime-spec lifecycle).
func (c *Container) Destroy(force bool) error {
	unlock, err := c.lock()
	if err != nil {
		return err
	}
	defer unlock()
	// A created container is killed and removed without force, as runc
	// does: containerd's shim deletes created tasks that way. (The
	// runtime-spec asks for an error here; engines win, see
	// docs/conformance.md.) A running or paused one needs force.
	st := c.Status()
	if st == Running || st == Paused {
		if !force {
			return fmt.Errorf("cannot delete container %s that is not stopped: %s", c.id, st)
		}
	}
	if st != Stopped {
		if err := c.killAndWait(); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("remove state %s: %w", c.dir, err)
	}
	for _, err := range hooks.RunAll("poststop", c.saved.Config.Hooks.Poststop, c.hookState(Stopped), c.hostLauncher()) {
		warnf(c.log, "%v", err)
	}
	return nil
}

// killAndWait SIGKILLs init and waits until it has exited (a zombie counts:
// its reaper may be slow).
func (c *Container) killAndWait() error {
	fd, err := c.saved.openInitPidfd()
	if errors.Is(err, errNotRunning) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("kill init %d: %w", c.saved.InitPid, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, max(0, int(time.Until(deadline)/time.Millisecond)))
		if err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("wait for init %d: %w", c.saved.InitPid, err)
		}
		if n > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("init %d did not die after SIGKILL", c.saved.InitPid)
		}
	}
}

// lock takes the container's lock and reloads its state: another command
// may have changed or deleted it (even re-created the id) meanwhile.
func (c *Container) lock() (unlock func(), err error) {
	unlock, err = lockDir(c.dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotExist
		}
		return nil, err
	}
	saved, err := readStateFile(c.dir, c.saved)
	if err != nil {
		unlock()
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotExist
		}
		return nil, err
	}
	if saved.InitPid != c.saved.InitPid || saved.InitStartTime != c.saved.InitStartTime {
		unlock()
		return nil, fmt.Errorf("container %s was replaced while waiting for its lock", c.id)
	}
	c.saved = saved
	return unlock, nil
}
