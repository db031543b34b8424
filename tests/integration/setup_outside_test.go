package integration

// The tests here cover what can go wrong when the runtime sets a container
// up from outside it: the runtime's parent process does the work from a
// thread that joined the container's mount, net, ipc, uts and cgroup
// namespaces but not its user or pid namespace, while the container's
// init is a small program that only finishes the job. Whatever runc's init
// does from inside the container (hooks with the workload's credentials,
// files read in the container's root, sysctls written from its user
// namespace, devices owned by its ids) must come out the same.

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// credsScript prints the uid, then the CapEff and NoNewPrivs lines of the
// shell's own /proc/self/status, read by the shell itself (no exec between
// the process being checked and what it reports).
const credsScript = `echo "uid $(id -u)"; ` +
	`while read -r key value; do case "$key" in CapEff:|NoNewPrivs:) echo "$key $value";; esac; done < /proc/self/status`

// parseCreds turns credsScript output into key -> value.
func parseCreds(t *testing.T, what, out string) map[string]string {
	t.Helper()
	creds := map[string]string{}
	for _, line := range nonEmptyLines(out) {
		key, value, ok := strings.Cut(line, " ")
		if ok {
			creds[key] = value
		}
	}
	for _, key := range []string{"uid", "CapEff:", "NoNewPrivs:"} {
		if creds[key] == "" {
			t.Fatalf("%s: no %q in:\n%s", what, key, out)
		}
	}
	return creds
}

// TestOutsideStartHookRunsAsWorkload: a startContainer hook runs with the
// workload's credentials (runc's init runs it after switching user and
// capabilities and setting no_new_privs): uid 1000, the workload's own
// effective capabilities, NoNewPrivs 1. The hook is a script in the image,
// found by its path inside the container; it writes into a 1777 directory
// of the rootfs that the host reads afterwards.
func TestOutsideStartHookRunsAsWorkload(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().writable().shell(credsScript)
	b.spec.Process.User = specs.User{UID: huskUID, GID: huskGID}
	b.spec.Process.NoNewPrivileges = true
	results := b.path("results")
	if err := os.Mkdir(results, 0o755); err != nil {
		t.Fatal(err)
	}
	// Mkdir applies the umask; the sticky, world-writable mode is the point.
	if err := os.Chmod(results, 0o1777); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, b.path("start-hook.sh"), "#!/bin/sh\n{ "+credsScript+"; } > /results/start-hook 2>&1\n")
	if err := os.Chmod(b.path("start-hook.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	b.spec.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/start-hook.sh", Args: []string{"start-hook.sh"}}}}

	workload := parseCreds(t, "workload", h.runOK(b))
	hook := parseCreds(t, "startContainer hook", readAll(filepath.Join(results, "start-hook")))
	if workload["uid"] != "1000" || workload["NoNewPrivs:"] != "1" {
		t.Errorf("workload credentials %v, want uid 1000 and NoNewPrivs 1", workload)
	}
	if hook["uid"] != "1000" {
		t.Errorf("startContainer hook ran as uid %s, want the workload's 1000", hook["uid"])
	}
	if hook["CapEff:"] != workload["CapEff:"] {
		t.Errorf("startContainer hook CapEff %s, want the workload's %s", hook["CapEff:"], workload["CapEff:"])
	}
	if hook["NoNewPrivs:"] != "1" {
		t.Errorf("startContainer hook NoNewPrivs %s, want 1", hook["NoNewPrivs:"])
	}
}

// hostUserWithHome finds a user of the host's /etc/passwd whose home is a
// real directory (not "/"): preferably not root, root otherwise.
func hostUserWithHome(t *testing.T) (uid, gid uint32, home string, found bool) {
	t.Helper()
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return 0, 0, "", false
	}
	defer f.Close()
	var rootHome string
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Split(scanner.Text(), ":")
		if len(fields) < 7 || fields[5] == "" || fields[5] == "/" {
			continue
		}
		if info, err := os.Stat(fields[5]); err != nil || !info.IsDir() {
			continue
		}
		u, errU := strconv.ParseUint(fields[2], 10, 32)
		g, errG := strconv.ParseUint(fields[3], 10, 32)
		if errU != nil || errG != nil {
			continue
		}
		if u == 0 {
			rootHome = fields[5]
			continue
		}
		return uint32(u), uint32(g), fields[5], true
	}
	if rootHome != "" {
		return 0, 0, rootHome, true
	}
	return 0, 0, "", false
}

// TestOutsideNoHostFilesThroughProcSelf: without a pid namespace the
// container's /proc shows the host's processes, so /proc/self in it is,
// for the runtime's parent, the runtime itself, whose root is the host's.
// An image that plants links through /proc/self/root must not make the
// runtime read or use host files.
func TestOutsideNoHostFilesThroughProcSelf(t *testing.T) {
	t.Run("passwd", func(t *testing.T) {
		uid, gid, home, found := hostUserWithHome(t)
		if !found {
			t.Skip("the host's /etc/passwd has no user with a home directory other than /")
		}
		h := newHarness(t)
		b := h.newBundle().dropNamespace(specs.PIDNamespace).shell(`echo "HOME=$HOME"`)
		b.spec.Process.User = specs.User{UID: uid, GID: gid}
		if err := os.Remove(b.path("etc/passwd")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/proc/self/root/etc/passwd", b.path("etc/passwd")); err != nil {
			t.Fatal(err)
		}
		out := h.runOK(b)
		if out == "HOME="+home+"\n" {
			t.Fatalf("HOME is %s, the home of host uid %d: the host's /etc/passwd was read", home, uid)
		}
		// runc reads the link inside the container, where it loops: no
		// passwd, so "/".
		if out != "HOME=/\n" {
			t.Errorf("workload output %q, want HOME=/", out)
		}
	})
	t.Run("console", func(t *testing.T) {
		h := newHarness(t)
		sock := h.listenConsole()
		b := h.terminalBundle(0, 0, `tty`).dropNamespace(specs.PIDNamespace)
		// No /dev tmpfs and no devpts: the image's /dev/pts is what the
		// runtime finds, a link to the host's devpts through /proc/self.
		b.dropMounts("/dev", "/dev/pts")
		if err := os.Symlink("/proc/self/root/dev/pts", b.path("dev/pts")); err != nil {
			t.Fatal(err)
		}
		hostPts := deviceOf(t, "/dev/pts/ptmx")
		r := h.create(b, cmdOpts{timeout: 10 * time.Second}, "--console-socket", sock.path)
		if r.Exit != 0 {
			// runc fails here: in its init the link loops. Failing is
			// fine, as long as no host pty was handed out on the way.
			t.Logf("create refused the planted /dev/pts: %s", strings.TrimSpace(r.Stderr))
			for _, dev := range pendingConsoleDevices(t, sock, 200*time.Millisecond) {
				if dev == hostPts {
					t.Errorf("create failed but sent a pty master from the host's devpts first")
				}
			}
			return
		}
		got := sock.receive(t, 10*time.Second)
		var st unix.Stat_t
		if err := unix.Fstat(int(got.master.f.Fd()), &st); err != nil {
			t.Fatalf("fstat the received master: %v", err)
		}
		if st.Dev == hostPts {
			t.Errorf("the console master comes from the host's devpts (through /proc/self/root/dev/pts)")
		}
	})
}

// deviceOf is the st_dev of path on the host.
func deviceOf(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Skipf("this machine has no %s: %v", path, err)
	}
	return st.Dev
}

// pendingConsoleDevices takes a connection the runtime may have made to the
// console socket before failing, and returns the st_dev of each fd it sent
// (closing them); none when nobody connected within the wait.
func pendingConsoleDevices(t *testing.T, sock *consoleSocket, within time.Duration) []uint64 {
	t.Helper()
	if err := sock.l.SetDeadline(time.Now().Add(within)); err != nil {
		t.Fatal(err)
	}
	conn, err := sock.l.AcceptUnix()
	if err != nil {
		return nil
	}
	defer conn.Close()
	if err := conn.SetReadDeadline(time.Now().Add(within)); err != nil {
		t.Fatal(err)
	}
	oob := make([]byte, unix.CmsgSpace(8*4))
	_, oobn, _, _, err := conn.ReadMsgUnix(make([]byte, 4096), oob)
	if err != nil {
		return nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		t.Fatalf("parse control messages: %v", err)
	}
	var devs []uint64
	for i := range msgs {
		fds, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		for _, fd := range fds {
			var st unix.Stat_t
			if unix.Fstat(fd, &st) == nil {
				devs = append(devs, st.Dev)
			}
			unix.Close(fd)
		}
	}
	return devs
}

// TestOutsideNoMountNamespaceHookInRoot: without a mount namespace the
// container's root is only a chroot of its init, and a startContainer hook
// (run by runc's init after the chroot) sees that root, not the host's.
// The hook records `ls /` and a file that exists only in the rootfs; had it
// run in the host's root, it would find the test directory and write
// there instead. The runtime runs in a private mount namespace: runc
// changes the propagation of "/" in its own one when the container has
// none, and a runtime that mounts anything by mistake mounts it there.
func TestOutsideNoMountNamespaceHookInRoot(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().writable().dropNamespace(specs.MountNamespace)
	// Mounts, masked and read-only paths all need a mount namespace.
	b.spec.Mounts = nil
	b.spec.Linux.MaskedPaths = nil
	b.spec.Linux.ReadonlyPaths = nil
	writeTestFile(t, b.path("only-in-rootfs"), b.id+"\n")
	onHost := filepath.Join(h.dir, "hook-ran-in-host-root")
	script := fmt.Sprintf(`out=%s; [ -d %s ] || out=/hook-result; { ls /; cat /only-in-rootfs; } > "$out" 2>&1`, onHost, h.dir)
	b.spec.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", script}}}}
	b.spec.Process.Args = []string{"true"}
	// runc's init needs /proc in its root; without a mount namespace it
	// cannot mount one itself, so the wrapper does, as a host would.
	r := h.run(b, cmdOpts{wrap: privateMountNS("mount -t proc proc " + b.path("proc"))})
	if _, err := os.Stat(onHost); err == nil {
		t.Fatalf("the startContainer hook ran in the host's root; it saw:\n%s", readAll(onHost))
	}
	if r.Exit != 0 {
		t.Fatalf("run: %v", r)
	}
	out := readAll(b.path("hook-result"))
	entries := nonEmptyLines(out)
	if !contains(entries, "only-in-rootfs") || !contains(entries, b.id) {
		t.Errorf("the startContainer hook did not see the container's root; it saw:\n%s", out)
	}
}

// TestOutsideSysctlInUserNamespace: sysctls are written from inside the
// container's user namespace. ping_group_range holds group ids, read back
// in the reader's namespace: "0 0" written from the container's namespace
// reads "0\t0" inside; written from the host's, gid 0 is unmapped inside
// and reads 65534 (the overflow gid).
func TestOutsideSysctlInUserNamespace(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().userns(t, testIDMappings())
	b.spec.Linux.Sysctl = map[string]string{"net.ipv4.ping_group_range": "0 0"}
	b.spec.Process.Args = []string{"cat", "/proc/sys/net/ipv4/ping_group_range"}
	if out := h.runOK(b); out != "0\t0\n" {
		t.Errorf("ping_group_range inside = %q, want \"0\\t0\\n\"", out)
	}
}

// TestOutsideKillCreatedTERM: SIGTERM to a created container with its own
// pid namespace stops it. Its init is pid 1 there and the kernel drops
// signals sent from outside to a pid 1 that has no handler for them, so
// the init has to handle (or forward) TERM while it waits for start, as
// runc's does.
func TestOutsideKillCreatedTERM(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	b.spec.Process.Args = []string{"sleep", "1000"}
	st := h.mustCreate(b)
	h.rtOK(cmdOpts{}, "kill", b.id, "TERM")
	h.waitStatus(b.id, specs.StateStopped, 5*time.Second)
	if alive(st.Pid) {
		t.Errorf("init %d still runs although the state is stopped", st.Pid)
	}
	h.rtOK(cmdOpts{}, "delete", b.id)
	if _, r := h.state(b.id); r.Exit == 0 {
		t.Errorf("container still exists after delete")
	}
}

// TestOutsideFifoDeviceOwnerInUserNamespace: a linux.devices fifo gets the
// configured uid and gid as the container sees them, whoever creates it.
// runc 1.1.5 fails this test: in a user namespace it bind-mounts each
// device from the host path, and the host has no such fifo.
func TestOutsideFifoDeviceOwnerInUserNamespace(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().userns(t, testIDMappings())
	mode := os.FileMode(0o666)
	uid, gid := uint32(huskUID), uint32(huskGID)
	b.spec.Linux.Devices = []specs.LinuxDevice{specDevice("/dev/husk-fifo", "p", 0, 0, &mode, &uid, &gid)}
	b.shell(`stat -c '%u:%g %F' /dev/husk-fifo`)
	if out := h.runOK(b); out != "1000:1000 fifo\n" {
		t.Errorf("/dev/husk-fifo inside: %q, want \"1000:1000 fifo\"", out)
	}
}

// TestOutsideLargeEnvironment: an environment of about 1.2 MB (ten
// variables of 120000 bytes; the kernel limits each string to 128 KiB and
// the whole of argv and env to a quarter of the stack limit) reaches the
// workload whole.
func TestOutsideLargeEnvironment(t *testing.T) {
	const count, size = 10, 120000
	var limit unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_STACK, &limit); err == nil && limit.Cur != unix.RLIM_INFINITY && limit.Cur/4 < count*size+1<<16 {
		t.Skipf("stack limit %d allows only %d bytes of argv+env to execve", limit.Cur, limit.Cur/4)
	}
	h := newHarness(t)
	b := h.newBundle()
	for i := 0; i < count; i++ {
		value := strings.Repeat(string(rune('a'+i)), size)
		b.spec.Process.Env = append(b.spec.Process.Env, fmt.Sprintf("HUSK_BIG_%d=%s", i, value))
	}
	// Length of the first and last, and whether the last holds only its
	// own letter (a truncated or shifted block would not).
	b.shell(`echo ${#HUSK_BIG_0} ${#HUSK_BIG_9}; case "$HUSK_BIG_9" in *[!j]*) echo mixed;; *) echo clean;; esac`)
	out := h.runOK(b)
	if want := fmt.Sprintf("%d %d\nclean\n", size, size); out != want {
		if len(out) > 200 {
			out = out[:200] + "..."
		}
		t.Errorf("workload saw %q, want %q", out, want)
	}
}

// TestOutsideConsoleSocketClosedFailsFast: the engine's end of the console
// socket is gone by the time the pty master is sent. create must fail at
// once, as runc does ("broken pipe"), and leave nothing behind; it used to
// take the broken pipe for a dead init and wait for the live one for ever.
func TestOutsideConsoleSocketClosedFailsFast(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	b.spec.Process.Terminal = true
	sock := h.listenConsole()
	go func() {
		// Accept and hang up at once: the runtime's connect succeeds, its
		// send of the master, milliseconds later, finds no reader.
		if conn, err := sock.l.AcceptUnix(); err == nil {
			conn.Close()
		}
	}()
	start := time.Now()
	r := h.create(b, cmdOpts{timeout: 20 * time.Second}, "--console-socket", sock.path)
	if r.Exit == 0 {
		t.Fatalf("create succeeded although the console socket was closed: %v", r)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("create took %s to fail (exit %d): it waited for an init that was alive", took, r.Exit)
	}
	if _, sr := h.state(b.id); sr.Exit == 0 {
		t.Errorf("the container exists after the failed create")
	}
}

// TestOutsideNoProcessNoStartHook: with no process in config.json, start
// fails (runtime-spec: start MUST generate an error) and the image's
// startContainer hook never runs: there are no workload credentials to run
// it with, and it must not run as the runtime's root instead. Fails on
// runc 1.1.5, which refuses such a config at create.
func TestOutsideNoProcessNoStartHook(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().writable()
	b.spec.Process = nil
	writeTestFile(t, b.path("start-hook.sh"), "#!/bin/sh\nid -u > /hook-ran\n")
	if err := os.Chmod(b.path("start-hook.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	b.spec.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/start-hook.sh"}}}
	h.mustCreate(b)
	if r := h.rt(cmdOpts{}, "start", b.id); r.Exit == 0 {
		t.Errorf("start without a process succeeded: %v", r)
	}
	if _, err := os.Stat(b.path("hook-ran")); err == nil {
		t.Errorf("the startContainer hook ran (as uid %q) although there is no process", strings.TrimSpace(readAll(b.path("hook-ran"))))
	}
}

// TestOutsideStartHookProcessSettings: runc runs startContainer hooks from
// its init after it set the process's rlimits, umask and cwd; husk's hooks
// get the same.
func TestOutsideStartHookProcessSettings(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().writable().shell("true")
	results := b.path("results")
	if err := os.Mkdir(results, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(results, 0o1777); err != nil {
		t.Fatal(err)
	}
	umask := uint32(0o027)
	b.spec.Process.User.Umask = &umask
	b.spec.Process.Cwd = "/results"
	b.spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 123, Hard: 456}}
	writeTestFile(t, b.path("start-hook.sh"), "#!/bin/sh\n{ pwd; umask; ulimit -Sn; ulimit -Hn; } > /results/start-hook 2>&1\n")
	if err := os.Chmod(b.path("start-hook.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	b.spec.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/start-hook.sh"}}}
	h.runOK(b)
	got := strings.Fields(readAll(filepath.Join(results, "start-hook")))
	want := []string{"/results", "0027", "123", "456"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("startContainer hook saw cwd, umask, nofile soft and hard %q, want %q", got, want)
	}
}
