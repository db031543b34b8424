package integration

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// consoleSocket is the engine's end of --console-socket: an AF_UNIX stream
// socket that listens for the runtime and receives the pty master.
type consoleSocket struct {
	path string
	l    *net.UnixListener
}

// listenConsole listens on a fresh socket. Its directory is short on
// purpose: a socket path is limited to 107 bytes.
func (h *harness) listenConsole() *consoleSocket {
	h.t.Helper()
	dir, err := os.MkdirTemp("", "husk-console-")
	if err != nil {
		h.t.Fatalf("console socket dir: %v", err)
	}
	h.t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		h.t.Fatalf("listen %s: %v", path, err)
	}
	h.t.Cleanup(func() { l.Close() })
	return &consoleSocket{path: path, l: l}
}

// receivedConsole is what the runtime sent over the console socket.
type receivedConsole struct {
	master *ptyMaster
	// name is the message's data: the runtime's name for the master.
	name string
	conn *net.UnixConn
}

// receive accepts one connection and reads one message from it, which
// must carry exactly one fd (SCM_RIGHTS).
func (c *consoleSocket) receive(t *testing.T, within time.Duration) *receivedConsole {
	t.Helper()
	if err := c.l.SetDeadline(time.Now().Add(within)); err != nil {
		t.Fatal(err)
	}
	conn, err := c.l.AcceptUnix()
	if err != nil {
		t.Fatalf("accept on the console socket: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetReadDeadline(time.Now().Add(within)); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 4096)
	// Room for several fds, so that an extra one would be seen (and closed).
	oob := make([]byte, unix.CmsgSpace(8*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(data, oob)
	if err != nil {
		t.Fatalf("read the console message: %v", err)
	}
	var fds []int
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		t.Fatalf("parse control messages: %v", err)
	}
	for i := range msgs {
		rights, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			t.Fatalf("control message %d is not SCM_RIGHTS: %v", i, err)
		}
		fds = append(fds, rights...)
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		t.Fatalf("console message carried %d fds, want exactly 1 (data %q)", len(fds), data[:n])
	}
	m := newPtyMaster(t, fds[0], "received pty master")
	return &receivedConsole{master: m, name: string(data[:n]), conn: conn}
}

// ptyMaster reads a pty master in the background and keeps all output.
type ptyMaster struct {
	f    *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	// err is why reading stopped: nil for EIO (no peer holder is left).
	err error
}

// newPtyMaster takes over fd (close-on-exec, non-blocking so reads can
// time out) and starts reading it.
func newPtyMaster(t *testing.T, fd int, name string) *ptyMaster {
	t.Helper()
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatalf("%s: set non-blocking: %v", name, err)
	}
	m := &ptyMaster{f: os.NewFile(uintptr(fd), name), done: make(chan struct{})}
	t.Cleanup(func() { m.f.Close() })
	go m.readAll()
	return m
}

func (m *ptyMaster) readAll() {
	defer close(m.done)
	buf := make([]byte, 4096)
	for {
		n, err := m.f.Read(buf)
		m.mu.Lock()
		m.out.Write(buf[:n])
		m.mu.Unlock()
		if errors.Is(err, unix.EIO) {
			// Linux: reads on a master fail with EIO once nothing holds
			// the peer; what was written before has been read.
			return
		}
		if err != nil {
			m.err = err
			return
		}
	}
}

// output is everything read so far with "\r\n" (the pty's ONLCR) as "\n".
func (m *ptyMaster) output() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.ReplaceAll(m.out.String(), "\r\n", "\n")
}

// waitFor polls the output until it contains want.
func (m *ptyMaster) waitFor(t *testing.T, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(m.output(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q from the pty within %v; output so far:\n%s", want, within, m.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitHangup waits until no process holds the peer any more.
func (m *ptyMaster) waitHangup(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-m.done:
		if m.err != nil {
			t.Fatalf("read pty master: %v", m.err)
		}
	case <-time.After(within):
		t.Fatalf("the pty peer is still open after %v; output so far:\n%s", within, m.output())
	}
}

func (m *ptyMaster) write(t *testing.T, s string) {
	t.Helper()
	if _, err := m.f.WriteString(s); err != nil {
		t.Fatalf("write %q to the pty master: %v", s, err)
	}
}

// hostPty is a pty the test opens on the host, standing in for the
// terminal a user would run the runtime from.
type hostPty struct {
	master *ptyMaster
	// peer stays open in the test, so the master never hangs up and the
	// peer's termios can be read at any time.
	peer *os.File
}

// openHostPty does what posix_openpt, unlockpt and ptsname do.
func openHostPty(t *testing.T) *hostPty {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("this machine has no usable /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		t.Fatalf("ptsname (TIOCGPTN): %v", err)
	}
	peerPath := fmt.Sprintf("/dev/pts/%d", n)
	peer, err := os.OpenFile(peerPath, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		unix.Close(fd)
		t.Fatalf("open %s: %v", peerPath, err)
	}
	t.Cleanup(func() { peer.Close() })
	return &hostPty{master: newPtyMaster(t, fd, "host pty master"), peer: peer}
}

func (p *hostPty) termios(t *testing.T) *unix.Termios {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(p.peer.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatalf("TCGETS on the host pty: %v", err)
	}
	return tio
}

// resize sets the host terminal's size; the kernel sends SIGWINCH to its
// foreground process group.
func (p *hostPty) resize(t *testing.T, rows, cols uint16) {
	t.Helper()
	ws := &unix.Winsize{Row: rows, Col: cols}
	if err := unix.IoctlSetWinsize(int(p.master.f.Fd()), unix.TIOCSWINSZ, ws); err != nil {
		t.Fatalf("TIOCSWINSZ on the host pty: %v", err)
	}
}

// isRaw reports whether the terminal is raw for input: no line editing,
// no echo, no signals from keys. (runc keeps output processing on.)
func isRaw(tio *unix.Termios) bool {
	return tio.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) == 0
}

func sameTermios(a, b *unix.Termios) bool {
	return a.Iflag == b.Iflag && a.Oflag == b.Oflag && a.Lflag == b.Lflag && a.Cflag == b.Cflag && a.Cc == b.Cc
}

// startInTerminal starts the runtime with the host pty as its controlling
// terminal, the way a shell starts a foreground job: a new session whose
// controlling tty is the pty. stdio are the pty unless given.
func (h *harness) startInTerminal(p *hostPty, stdio []*os.File, args ...string) chan result {
	h.t.Helper()
	argv := append([]string{h.runtime, "--root", h.root}, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = h.dir
	cmd.Env = append(os.Environ(), h.marker)
	if stdio == nil {
		stdio = []*os.File{p.peer, p.peer, p.peer}
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio[0], stdio[1], stdio[2]
	// The pty is fd 3 in the child, whatever its stdio are; Setctty makes
	// it the controlling terminal of the new session.
	cmd.ExtraFiles = []*os.File{p.peer}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 3}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("start %q: %v", argv, err)
	}
	done := make(chan result, 1)
	go func() {
		err := cmd.Wait()
		done <- result{Args: argv, Exit: exitCode(cmd), Err: err, Duration: time.Since(start)}
	}()
	// A runtime still running at the end of the test is killed (a no-op
	// once Wait has reaped it); the leftover checks then report its
	// container.
	h.t.Cleanup(func() { _ = cmd.Process.Kill() })
	return done
}

// waitResult waits for a command started by startInTerminal.
func waitResult(t *testing.T, done chan result, within time.Duration) result {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(within):
		t.Fatalf("the runtime did not exit within %v", within)
		return result{}
	}
}
