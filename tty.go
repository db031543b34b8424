package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// After the container's init exited, its output is copied until nothing
// arrives for drainIdle, at most for drainMax: a process outside the
// container's pid namespace may still hold the pty, and `run` must not
// wait for it (runc stops copying then too).
const (
	drainIdle = 200 * time.Millisecond
	drainMax  = 2 * time.Second
)

// ttyProxy is the foreground side of process.terminal: it receives the pty
// master from the container's init over a socketpair and copies between it
// and husk's own stdio. Like runc, it takes the caller's terminal (the
// first of stderr, stdout, stdin that is one, else /dev/tty), puts it in
// raw mode, gives its size to the container's pty at start and on SIGWINCH,
// and restores it at the end. Unlike runc, it also works with no terminal
// at all (runc fails to open /dev/tty then).
type ttyProxy struct {
	childEnd  *os.File
	parentEnd *os.File
	master    *os.File
	// host is the caller's terminal; nil when there is none.
	host      *os.File
	closeHost bool
	saved     *unix.Termios
	stopWinch func()
	// drainUntil (unix nanoseconds) is set once the container's init is
	// gone: output is then drained until idle, and never past it.
	drainUntil atomic.Int64
	done       sync.WaitGroup
	log        *logger
}

func newTTYProxy(log *logger) (*ttyProxy, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("console socketpair: %w", err)
	}
	return &ttyProxy{
		parentEnd: os.NewFile(uintptr(fds[0]), "console-parent"),
		childEnd:  os.NewFile(uintptr(fds[1]), "console-child"),
		log:       log,
	}, nil
}

// start receives the master and starts copying. It runs before the
// workload is started, so the terminal is raw and sized from its first
// byte on.
func (t *ttyProxy) start() error {
	// Our copy of the child's end would keep the socket open if init died
	// before sending.
	t.childEnd.Close()
	master, err := recvFd(t.parentEnd)
	if err != nil {
		return fmt.Errorf("receive pty master: %w", err)
	}
	t.master = master
	if err := clearONLCR(master); err != nil {
		return err
	}
	if err := t.openHostTerminal(); err != nil {
		return err
	}
	if t.host != nil {
		tio, err := unix.IoctlGetTermios(int(t.host.Fd()), unix.TCGETS)
		if err != nil {
			return fmt.Errorf("read terminal settings of %s: %w", t.host.Name(), err)
		}
		raw := makeRaw(*tio)
		if err := unix.IoctlSetTermios(int(t.host.Fd()), unix.TCSETS, &raw); err != nil {
			return fmt.Errorf("set %s to raw mode: %w", t.host.Name(), err)
		}
		t.saved = tio
		t.resize()
		t.stopWinch = t.watchWinch()
	}
	go func() { _, _ = io.Copy(master, os.Stdin) }()
	t.done.Add(1)
	go t.copyOutput()
	return nil
}

// openHostTerminal finds the caller's terminal the way runc does: stdio
// may be redirected, so each is tried, then the controlling terminal.
func (t *ttyProxy) openHostTerminal() error {
	for _, f := range []*os.File{os.Stderr, os.Stdout, os.Stdin} {
		if isTerminal(f) {
			t.host = f
			return nil
		}
	}
	f, err := os.OpenFile("/dev/tty", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		// No controlling terminal (ENXIO), e.g. under a supervisor: the
		// container still gets its pty, there is just nothing to set raw.
		if errors.Is(err, unix.ENXIO) || errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("open the controlling terminal: %w", err)
	}
	if !isTerminal(f) {
		f.Close()
		return nil
	}
	t.host, t.closeHost = f, true
	return nil
}

// clearONLCR stops the container's pty from turning "\n" into "\r\n", as
// runc does: output redirected to a file or pipe stays as the workload
// wrote it, and a terminal adds the "\r" itself. Termios requests on a
// master apply to its peer.
func clearONLCR(master *os.File) error {
	tio, err := unix.IoctlGetTermios(int(master.Fd()), unix.TCGETS)
	if err != nil {
		return fmt.Errorf("read the container's pty settings: %w", err)
	}
	tio.Oflag &^= unix.ONLCR
	if err := unix.IoctlSetTermios(int(master.Fd()), unix.TCSETS, tio); err != nil {
		return fmt.Errorf("clear ONLCR on the container's pty: %w", err)
	}
	return nil
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// makeRaw is cfmakeraw(3) except for the output flags, as in runc: typed
// bytes pass untouched and the container's pty does the line editing,
// echo and signal keys, while the caller's terminal still turns "\n" into
// "\r\n" (the container's pty does not, see clearONLCR).
func makeRaw(tio unix.Termios) unix.Termios {
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag &^= unix.CSIZE | unix.PARENB
	tio.Cflag |= unix.CS8
	tio.Cc[unix.VMIN] = 1
	tio.Cc[unix.VTIME] = 0
	return tio
}

// copyOutput copies the container's output until the pty hangs up (EIO:
// nothing holds the peer any more) or, once init exited, goes idle.
func (t *ttyProxy) copyOutput() {
	defer t.done.Done()
	buf := make([]byte, 32*1024)
	for {
		if t.drainUntil.Load() != 0 {
			_ = t.master.SetReadDeadline(t.drainDeadline())
		}
		n, err := t.master.Read(buf)
		if n > 0 {
			if _, werr := os.Stdout.Write(buf[:n]); werr != nil {
				return
			}
		}
		// Deadlines are set only after init exited, so an expired one
		// means the output went idle.
		if err != nil {
			return // EIO (hang-up), idle after exit, or closed
		}
	}
}

// drainDeadline is the deadline of the next read while draining.
func (t *ttyProxy) drainDeadline() time.Time {
	d := time.Now().Add(drainIdle)
	if limit := time.Unix(0, t.drainUntil.Load()); d.After(limit) {
		return limit
	}
	return d
}

func (t *ttyProxy) resize() {
	ws, err := unix.IoctlGetWinsize(int(t.host.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return
	}
	if err := unix.IoctlSetWinsize(int(t.master.Fd()), unix.TIOCSWINSZ, ws); err != nil {
		t.log.Debugf("resize the container's pty: %v", err)
	}
}

func (t *ttyProxy) watchWinch() func() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, unix.SIGWINCH)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-c:
				t.resize()
			case <-stop:
				return
			}
		}
	}()
	return func() {
		signal.Stop(c)
		close(stop)
	}
}

// finish is called once the container's init exited: it drains the
// output, then restores the terminal.
func (t *ttyProxy) finish() {
	if t.master == nil {
		return
	}
	t.drainUntil.Store(time.Now().Add(drainMax).UnixNano())
	// A read blocked since before the exit ends when idle for drainIdle.
	_ = t.master.SetReadDeadline(time.Now().Add(drainIdle))
	t.done.Wait()
	t.close()
}

// close restores the terminal and closes everything; safe to call more
// than once and on every error path.
func (t *ttyProxy) close() {
	if t.stopWinch != nil {
		t.stopWinch()
		t.stopWinch = nil
	}
	if t.saved != nil {
		if err := unix.IoctlSetTermios(int(t.host.Fd()), unix.TCSETS, t.saved); err != nil {
			t.log.Warnf("restore the terminal settings of %s: %v", t.host.Name(), err)
		}
		t.saved = nil
	}
	if t.closeHost {
		t.host.Close()
		t.closeHost = false
	}
	t.childEnd.Close()
	t.parentEnd.Close()
	if t.master != nil {
		t.master.Close()
	}
}

// recvFd receives the one fd init sends with SCM_RIGHTS; it is made
// non-blocking so reads on it can time out.
func recvFd(sock *os.File) (*os.File, error) {
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), name, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, errors.New("no fd in the console message")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, errors.New("no fd in the console message")
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("set the pty master non-blocking: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}
