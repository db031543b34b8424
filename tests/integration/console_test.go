package integration

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// terminalBundle is a bundle whose process has a terminal of rows x cols.
func (h *harness) terminalBundle(rows, cols uint, script string) *bundle {
	b := h.newBundle().shell(script)
	b.spec.Process.Terminal = true
	if rows > 0 || cols > 0 {
		b.spec.Process.ConsoleSize = &specs.Box{Height: rows, Width: cols}
	}
	return b
}

// consoleScript reports what the workload sees of its terminal, then
// proves that input typed on the master reaches it.
const consoleScript = `tty; stty size; echo "TERM=$TERM"; ` +
	`stat -c 'console=%F %t:%T' /dev/console; stat -c 'pts0=%t:%T' /dev/pts/0; ` +
	`echo "fd0=$(readlink /proc/self/fd/0)"; ` + cttyScript + `; echo ready; read x; echo "got $x"`

// cttyScript prints field 7 of /proc/PID/stat, tty_nr: the controlling
// terminal, 0 for none; cttyPts0 is /dev/pts/0 (136<<8 | 0).
const (
	cttyScript = `echo "ctty=$(cut -d' ' -f7 /proc/self/stat)"`
	cttyPts0   = "ctty=34816\n"
)

// TestConsoleSocket: create --console-socket with terminal: true sends
// exactly one fd, a pty master from the container's devpts, with a name;
// after start, the workload's stdio, /dev/console and controlling tty are
// that pty, sized as process.consoleSize says.
func TestConsoleSocket(t *testing.T) {
	h := newHarness(t)
	sock := h.listenConsole()
	b := h.terminalBundle(40, 120, consoleScript)
	h.mustCreate(b, "--console-socket", sock.path)
	got := sock.receive(t, 10*time.Second)
	if got.name == "" {
		t.Errorf("the console message has no name (runc sends the pty's path)")
	}
	t.Logf("console message name: %q", got.name)
	checkPtyMaster(t, got.master.f)

	h.mustStart(b.id)
	got.master.waitFor(t, "ready\n", 10*time.Second)
	got.master.write(t, "hello\n")
	got.master.waitHangup(t, 10*time.Second)
	out := got.master.output()
	mustContain(t, "workload output", out,
		"/dev/pts/0\n",
		"40 120\n",
		"TERM=xterm\n",
		"console=character special file 88:0\n", // 136:0, the first pty
		"pts0=88:0\n",
		"fd0=/dev/pts/0\n",
		cttyPts0,
		"got hello\n")
	h.waitStatus(b.id, specs.StateStopped, 5*time.Second)

	// Once the container is gone, nobody holds the connection: neither
	// the runtime nor (leaked) the workload.
	if err := got.conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, err := got.conn.Read(make([]byte, 64)); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("console connection after the container exited: read %d bytes, err %v; want EOF", n, err)
	}
}

// checkPtyMaster: f must be a pty master (TIOCGPTN answers), the
// container's first pty, a character device 5:2 (ptmx) opened read-write.
func checkPtyMaster(t *testing.T, f *os.File) {
	t.Helper()
	fd := int(f.Fd())
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("TIOCGPTN on the received fd: %v (not a pty master)", err)
	}
	if n != 0 {
		t.Errorf("pty number = %d, want 0 (the container's own devpts instance)", n)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatalf("fstat the received fd: %v", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 5 || unix.Minor(st.Rdev) != 2 {
		t.Errorf("received fd: mode %#o rdev %d:%d, want a character device 5:2 (ptmx)", st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		t.Fatalf("fstatfs the received fd: %v", err)
	}
	if sfs.Type != unix.DEVPTS_SUPER_MAGIC {
		t.Errorf("received fd lives on fs type %#x, want devpts", sfs.Type)
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		t.Fatalf("F_GETFL: %v", err)
	}
	if flags&unix.O_ACCMODE != unix.O_RDWR {
		t.Errorf("received fd access mode %#o, want O_RDWR", flags&unix.O_ACCMODE)
	}
}

// TestConsoleSize: init sizes the pty before it sends the master (read
// here with TIOCGWINSZ before start); as runc, a size with a zero side
// is ignored and the kernel's 0x0 stays.
func TestConsoleSize(t *testing.T) {
	for _, tc := range []struct {
		name               string
		rows, cols         uint
		wantRows, wantCols uint16
	}{
		{"40x120", 40, 120, 40, 120},
		{"none", 0, 0, 0, 0},
		{"zero-width", 40, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			sock := h.listenConsole()
			b := h.terminalBundle(tc.rows, tc.cols, "true")
			h.mustCreate(b, "--console-socket", sock.path)
			got := sock.receive(t, 10*time.Second)
			ws, err := unix.IoctlGetWinsize(int(got.master.f.Fd()), unix.TIOCGWINSZ)
			if err != nil {
				t.Fatalf("TIOCGWINSZ on the master: %v", err)
			}
			if ws.Row != tc.wantRows || ws.Col != tc.wantCols {
				t.Errorf("pty size at create = %dx%d, want %dx%d", ws.Row, ws.Col, tc.wantRows, tc.wantCols)
			}
			h.mustStart(b.id)
			got.master.waitHangup(t, 10*time.Second)
		})
	}
}

// TestConsoleBadUse: the command-line combinations runc refuses fail with
// a one-line error and leave nothing behind.
func TestConsoleBadUse(t *testing.T) {
	for _, tc := range []struct {
		name     string
		terminal bool
		// args come before --bundle; "SOCK" is replaced by a listening
		// console socket, "NOSOCK" by a path where nothing listens.
		args []string
	}{
		{"create-terminal-without-socket", true, []string{"create"}},
		{"run-detached-terminal-without-socket", true, []string{"run", "-d"}},
		{"create-socket-without-terminal", false, []string{"create", "--console-socket", "SOCK"}},
		{"run-foreground-with-socket", true, []string{"run", "--console-socket", "SOCK"}},
		{"create-socket-nobody-listens", true, []string{"create", "--console-socket", "NOSOCK"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			b := h.newBundle()
			b.spec.Process.Terminal = tc.terminal
			b.spec.Process.Args = []string{"sleep", "1000"}
			args := append([]string(nil), tc.args...)
			for i, a := range args {
				switch a {
				case "SOCK":
					args[i] = h.listenConsole().path
				case "NOSOCK":
					args[i] = filepath.Join(h.dir, "no-listener.sock")
				}
			}
			b.write(t)
			h.track(b.id)
			r := h.rt(cmdOpts{}, append(args, "--bundle", b.dir, b.id)...)
			if r.Exit == 0 {
				t.Fatalf("the runtime accepted it: %v", r)
			}
			if r.Exit < 0 {
				t.Fatalf("the runtime did not finish: %v", r)
			}
			if lines := nonEmptyLines(r.Stderr); len(lines) != 1 {
				t.Errorf("want a one-line error on stderr, got %d lines:\n%s", len(lines), r.Stderr)
			}
			if _, sr := h.state(b.id); sr.Exit == 0 {
				t.Errorf("the container exists after the failure: %s", sr.Stdout)
			}
		})
	}
}

// ptyScript tells the test it runs, then prints the terminal size for
// each line read, until end of input; it exits 3.
const ptyScript = `echo "ready $(tty)"; while read line; do echo "size=$(stty size) line=$line"; done; exit 3`

// TestRunForegroundTerminal: `run` with terminal: true and no console
// socket, started from a terminal: the runtime puts its terminal in raw
// mode, copies between it and the container's pty, passes its size on at
// start and on SIGWINCH, passes the exit code through and restores the
// terminal.
func TestRunForegroundTerminal(t *testing.T) {
	h := newHarness(t)
	host := openHostPty(t)
	host.resize(t, 50, 132)
	before := host.termios(t)
	if isRaw(before) {
		t.Fatalf("a fresh pty is already raw")
	}
	b := h.terminalBundle(0, 0, ptyScript)
	b.write(t)
	h.track(b.id)
	done := h.startInTerminal(host, nil, "run", "--bundle", b.dir, b.id)

	host.master.waitFor(t, "ready /dev/pts/0", 10*time.Second)
	host.waitRaw(t)
	// Typed lines ("\r" is what the Enter key sends) until the size the
	// runtime copied from its terminal shows up.
	typeUntil(t, host, "x\r", "size=50 132 line=x")
	host.resize(t, 60, 100)
	typeUntil(t, host, "y\r", "size=60 100 line=y")
	host.master.write(t, "\x04") // ^D: end of input for the container's read
	r := waitResult(t, done, 15*time.Second)
	if r.Exit != 3 {
		t.Errorf("run exit = %d, want 3 (the container's): %v\noutput:\n%s", r.Exit, r, host.master.output())
	}
	if after := host.termios(t); !sameTermios(before, after) {
		t.Errorf("the host terminal was not restored:\nbefore %+v\nafter  %+v", before, after)
	}
	if _, sr := h.state(b.id); sr.Exit == 0 {
		t.Errorf("the container still exists after run: %s", sr.Stdout)
	}
}

// waitRaw polls until the runtime has put the host terminal in raw mode.
func (p *hostPty) waitRaw(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		tio := p.termios(t)
		if isRaw(tio) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the host terminal is not in raw mode while the container runs: lflag %#o oflag %#o", tio.Lflag, tio.Oflag)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// typeUntil types line on the terminal every 100ms until want appears.
func typeUntil(t *testing.T, p *hostPty, line, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.master.output(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within 10s; output:\n%s", want, p.master.output())
		}
		p.master.write(t, line)
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRunForegroundTerminalPipes: `run` with terminal: true whose stdio
// are pipes, with the caller's terminal reachable only as /dev/tty (as in
// `echo hello | husk run ID > out` typed in a shell): input and output go
// through the pipes, the exit code passes through, and the terminal is
// left as it was. As runc, the runtime puts that terminal in raw mode
// while the container runs.
func TestRunForegroundTerminalPipes(t *testing.T) {
	h := newHarness(t)
	host := openHostPty(t)
	before := host.termios(t)
	stdin, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	defer stdinW.Close()
	outPath := filepath.Join(h.dir, "out")
	out, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	b := h.terminalBundle(0, 0, `read x; echo "got $x"; tty; exit 3`)
	b.write(t)
	h.track(b.id)
	done := h.startInTerminal(host, []*os.File{stdin, out, out}, "run", "--bundle", b.dir, b.id)
	// The workload waits for its input, so the terminal is seen while the
	// container runs.
	host.waitRaw(t)
	if _, err := stdinW.WriteString("hello\n"); err != nil {
		t.Fatal(err)
	}
	stdinW.Close()
	r := waitResult(t, done, 15*time.Second)
	output := readAll(outPath)
	if r.Exit != 3 {
		t.Errorf("run exit = %d, want 3: %v\noutput:\n%s", r.Exit, r, output)
	}
	// The container's pty echoes the input line. Its "\n" are not made
	// "\r\n": runc clears ONLCR on it, so redirected output is as written.
	if want := "hello\ngot hello\n/dev/pts/0\n"; output != want {
		t.Errorf("output = %q, want %q", output, want)
	}
	if after := host.termios(t); !sameTermios(before, after) {
		t.Errorf("the caller's terminal was not restored:\nbefore %+v\nafter  %+v", before, after)
	}
}

// TestRunForegroundTerminalNoTTY: `run` with terminal: true and no
// terminal anywhere (pipes, no controlling tty, as under a supervisor):
// husk still runs the container, without raw mode. runc refuses this
// ("open /dev/tty: no such device or address").
func TestRunForegroundTerminalNoTTY(t *testing.T) {
	if err := exec.Command("setsid", "--wait", "true").Run(); err != nil {
		t.Skipf("this setsid has no --wait (busybox, as in the test VM): %v", err)
	}
	h := newHarness(t)
	b := h.terminalBundle(0, 0, `read x; echo "got $x"; tty; exit 3`)
	// setsid: a new session has no controlling terminal, wherever the
	// test itself was started from.
	r := h.run(b, cmdOpts{stdin: strings.NewReader("hello\n"), wrap: []string{"setsid", "--wait"}})
	if r.Exit != 3 {
		t.Fatalf("run exit = %d, want 3: %v", r.Exit, r)
	}
	if want := "hello\ngot hello\n/dev/pts/0\n"; r.Stdout != want {
		t.Errorf("output = %q, want %q", r.Stdout, want)
	}
}

// TestRunForegroundTerminalLingeringHolder: a process that outlives the
// container's init and keeps the pty open (here, without a pid namespace,
// one that ignores the hang-up) must not keep `run` waiting for the end
// of the output.
func TestRunForegroundTerminalLingeringHolder(t *testing.T) {
	h := newHarness(t)
	host := openHostPty(t)
	b := h.terminalBundle(0, 0, `trap '' HUP; sleep 1000 & echo "lingering=$!"; exit 4`)
	b.dropNamespace(specs.PIDNamespace)
	b.write(t)
	h.track(b.id)
	done := h.startInTerminal(host, nil, "run", "--bundle", b.dir, b.id)
	r := waitResult(t, done, 15*time.Second)
	out := host.master.output()
	// Not the runtime's job here: husk does not manage cgroups yet, so it
	// cannot find the container's processes outside a pid namespace.
	h.killLingering(out)
	if r.Exit != 4 {
		t.Errorf("run exit = %d, want 4: %v\noutput:\n%s", r.Exit, r, out)
	}
}

// killLingering kills the process a workload reported as "lingering=PID"
// (a host pid: the container has no pid namespace) if it is this test's.
func (h *harness) killLingering(out string) {
	h.t.Helper()
	_, rest, ok := strings.Cut(out, "lingering=")
	if !ok {
		h.t.Errorf("no lingering pid in the output:\n%s", out)
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(rest, "\n", 2)[0]))
	if err != nil {
		h.t.Errorf("lingering pid in %q: %v", out, err)
		return
	}
	if alive(pid) && h.belongsToTest(pid) != "" {
		h.t.Logf("killing the lingering process %d (the runtime left it)", pid)
		_ = unix.Kill(pid, unix.SIGKILL)
	}
}

// TestConsoleSymlinkInImage (CVE-2025-52565): an image whose /dev/console
// is a symlink must not make the runtime write through it or bind the pty
// onto its target. Without a /dev tmpfs the image's /dev is used as is.
// The link points at /etc/passwd inside the container and, from the host,
// at a bait file next to the rootfs; both stay as they were, and the
// container's /dev/console is its pty.
func TestConsoleSymlinkInImage(t *testing.T) {
	h := newHarness(t)
	sock := h.listenConsole()
	b := h.terminalBundle(0, 0, `stat -c 'console=%F %t:%T' /dev/console; stat -c 'passwd=%F' /etc/passwd`)
	b.dropMounts("/dev")
	const bait = "bait: must not change\n"
	baitPath := filepath.Join(b.dir, "etc", "passwd")
	if err := os.MkdirAll(filepath.Dir(baitPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(baitPath, []byte(bait), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../etc/passwd", b.path("dev/console")); err != nil {
		t.Fatal(err)
	}
	// The files are checked whatever happens to the container.
	defer checkConsoleBait(t, b, baitPath, bait)
	if r := h.create(b, cmdOpts{timeout: 10 * time.Second}, "--console-socket", sock.path); r.Exit != 0 {
		t.Fatalf("create failed: %v", r)
	}
	got := sock.receive(t, 10*time.Second)
	h.mustStart(b.id)
	got.master.waitHangup(t, 10*time.Second)
	mustContain(t, "output", got.master.output(), "console=character special file 88:0\n", "passwd=regular file\n")
}

// checkConsoleBait checks that the targets of the image's /dev/console
// symlink are untouched.
func checkConsoleBait(t *testing.T, b *bundle, baitPath, bait string) {
	t.Helper()
	if data, err := os.ReadFile(b.path("etc/passwd")); err != nil || string(data) != etcPasswd {
		t.Errorf("the rootfs's /etc/passwd changed: %q, %v", data, err)
	}
	if data, err := os.ReadFile(baitPath); err != nil || string(data) != bait {
		t.Errorf("the bait file outside the rootfs changed: %q, %v", data, err)
	}
	if target, err := os.Readlink(b.path("dev/console")); err != nil || target != "../../etc/passwd" {
		t.Errorf("the image's /dev/console symlink changed: %q, %v", target, err)
	}
}

// TestConsoleWithTimeNamespace: a time namespace makes husk's init a
// grandchild of the runtime (the bootstrap forks); it must still become a
// session leader to take the pty as its controlling terminal. runc 1.1.5
// does not know the time namespace.
func TestConsoleWithTimeNamespace(t *testing.T) {
	h := newHarness(t)
	sock := h.listenConsole()
	b := h.terminalBundle(0, 0, `tty; `+cttyScript)
	b.setNamespace(specs.TimeNamespace, "")
	h.mustCreate(b, "--console-socket", sock.path)
	got := sock.receive(t, 10*time.Second)
	h.mustStart(b.id)
	got.master.waitHangup(t, 10*time.Second)
	out := got.master.output()
	mustContain(t, "output", out, "/dev/pts/0\n")
	mustContain(t, "controlling terminal", out, cttyPts0)
}
