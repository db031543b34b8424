package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// ErrNotChild is returned by Wait on a container this process did not
// create (or created detached).
var ErrNotChild = errors.New("container init is not a child of this process")

// Wait waits for the container's init to exit and returns its status the
// way a shell reports it: the exit code, or 128+N when killed by signal N.
// Only the process that created the container can wait for it.
func (c *Container) Wait() (int, error) {
	if c.child == nil {
		return -1, ErrNotChild
	}
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(c.child.pid, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.ECHILD) && c.child.forked {
			return -1, fmt.Errorf("wait for init %d: it is a grandchild (its namespaces needed a forked init) and this process is not a child subreaper", c.child.pid)
		}
		if err != nil {
			return -1, fmt.Errorf("wait for init %d: %w", c.child.pid, err)
		}
		c.child = nil
		return exitCode(ws), nil
	}
}

func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// ForwardableSignals lists the signals a foreground runtime relays to the
// container: 1 to 31 except those it cannot catch (SIGKILL, SIGSTOP) and
// SIGCHLD (about our own children), SIGWINCH (the console proxy resizes
// the pty), SIGURG (the Go runtime's preemption) and SIGPIPE (about our own
// pipes). Real-time signals are not in it: runc relays them too, but every
// signal the Go runtime starts or stops handling costs a round trip to its
// signal thread (≈ 25 µs of CPU and 3 context switches here), and the 31
// real-time ones would double the start-up cost of `run` for signals no
// engine sends to a runtime.
func ForwardableSignals() []os.Signal {
	var sigs []os.Signal
	for s := unix.Signal(1); s <= 31; s++ {
		switch s {
		case unix.SIGKILL, unix.SIGSTOP, unix.SIGCHLD, unix.SIGWINCH, unix.SIGURG, unix.SIGPIPE:
			continue
		}
		sigs = append(sigs, s)
	}
	return sigs
}

// ForwardSignals relays ForwardableSignals that a foreground runtime
// receives to the container's init until stop is called.
func (c *Container) ForwardSignals() (stop func()) {
	sigc := make(chan os.Signal, 32)
	signal.Notify(sigc, ForwardableSignals()...)
	stopForwarding := c.ForwardSignalsFrom(sigc)
	return func() {
		stopForwarding()
		signal.Stop(sigc)
	}
}

// ForwardSignalsFrom is ForwardSignals for a channel the caller registered
// with signal.Notify(sigc, ForwardableSignals()...) earlier, e.g. before
// Create, so that signals that came meanwhile are forwarded too. stop ends
// the forwarding but leaves sigc registered: a process about to exit need
// not pay for signal.Stop, and signals that come during its cleanup are
// then absorbed instead of killing it half-way.
func (c *Container) ForwardSignalsFrom(sigc chan os.Signal) (stop func()) {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case s := <-sigc:
				sig, ok := s.(unix.Signal)
				if !ok || sig == unix.SIGCHLD || sig == unix.SIGWINCH || sig == unix.SIGURG || sig == unix.SIGPIPE {
					continue
				}
				if err := c.Signal(sig); err != nil && !errors.Is(err, errNotRunning) {
					warnf(c.log, "forward signal %s: %v", sig, err)
				}
			}
		}
	}()
	return func() { close(done) }
}
