package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"
)

// ttyProxy is the foreground side of process.terminal: it receives the pty
// master from the container's init over a socketpair and copies between it
// and husk's own stdio, with the caller's terminal in raw mode.
type ttyProxy struct {
	childEnd  *os.File
	parentEnd *os.File
	master    *os.File
	saved     *unix.Termios
	done      sync.WaitGroup
	stopWinch func()
}

func newTTYProxy() (*ttyProxy, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("console socketpair: %w", err)
	}
	return &ttyProxy{
		parentEnd: os.NewFile(uintptr(fds[0]), "console-parent"),
		childEnd:  os.NewFile(uintptr(fds[1]), "console-child"),
	}, nil
}

// start receives the master and starts copying.
func (t *ttyProxy) start() error {
	master, err := recvFd(t.parentEnd)
	if err != nil {
		return fmt.Errorf("receive pty master: %w", err)
	}
	t.master = master
	if tio, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
		t.saved = tio
		raw := *tio
		raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		raw.Oflag &^= unix.OPOST
		raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Cflag &^= unix.CSIZE | unix.PARENB
		raw.Cflag |= unix.CS8
		unix.IoctlSetTermios(0, unix.TCSETS, &raw)
		t.resize()
		t.stopWinch = t.watchWinch()
	}
	go io.Copy(master, os.Stdin)
	t.done.Add(1)
	go func() {
		defer t.done.Done()
		io.Copy(os.Stdout, master)
	}()
	return nil
}

func (t *ttyProxy) resize() {
	if ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ); err == nil {
		unix.IoctlSetWinsize(int(t.master.Fd()), unix.TIOCSWINSZ, ws)
	}
}

func (t *ttyProxy) watchWinch() func() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, unix.SIGWINCH)
	go func() {
		for range c {
			t.resize()
		}
	}()
	return func() { signal.Stop(c) }
}

// finish waits for the output to drain (the pty reports EIO once the last
// holder of the peer is gone) and restores the terminal.
func (t *ttyProxy) finish() {
	if t.master == nil {
		return
	}
	t.done.Wait()
	t.close()
}

func (t *ttyProxy) close() {
	if t.stopWinch != nil {
		t.stopWinch()
		t.stopWinch = nil
	}
	if t.saved != nil {
		unix.IoctlSetTermios(0, unix.TCSETS, t.saved)
		t.saved = nil
	}
	t.childEnd.Close()
	t.parentEnd.Close()
	if t.master != nil {
		t.master.Close()
	}
}

// recvFd receives one fd sent with SCM_RIGHTS.
func recvFd(sock *os.File) (*os.File, error) {
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), name, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("no fd in console message")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("no fd in console message")
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}
