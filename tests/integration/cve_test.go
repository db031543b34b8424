package integration

// One test per published runc/crun escape that security_test.go does not
// already cover, each built so that it fails when the defence is missing:
// the attack is carried out for real against decoys in the test directory
// (never against real host files), and the decoys are the judge.

import (
	"encoding/binary"
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

const decoyContent = "decoy\n"

// writeTestFile writes content to path or fails the test.
func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkDecoy fails the test if the decoy at path no longer holds decoyContent.
func checkDecoy(t *testing.T, path, why string) {
	t.Helper()
	if data, err := os.ReadFile(path); err != nil || string(data) != decoyContent {
		t.Errorf("%s: decoy %s now holds %q (err %v)", why, path, data, err)
	}
}

// useRuntimeCopy makes h run a copy of the runtime binary, so an attack on
// the binary that succeeds damages only the copy.
func (h *harness) useRuntimeCopy() string {
	h.t.Helper()
	victim := filepath.Join(h.dir, "runtime-copy", filepath.Base(h.runtime))
	if err := os.MkdirAll(filepath.Dir(victim), 0o755); err != nil {
		h.t.Fatal(err)
	}
	copyFile(h.t, h.runtime, victim, 0o755)
	h.runtime = victim
	return victim
}

// nsPid returns the pid that host process pid has in its own pid namespace
// (the last field of NSpid in /proc/PID/status).
func nsPid(t *testing.T, pid int) string {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if fields := strings.Fields(line); len(fields) > 1 && fields[0] == "NSpid:" {
			return fields[len(fields)-1]
		}
	}
	t.Fatalf("no NSpid line for pid %d", pid)
	return ""
}

// exeAttackScript is the attacking container's workload for
// TestCVE2019_5736JoinedPIDNamespace. The test writes the victim init's pid
// to /out/target; phase 1 runs while that init has not exec'd yet, phase 2
// once the test writes /out/go2, after the workload replaced the init.
const exeAttackScript = `while [ ! -s /out/target ]; do sleep 0.05; done
T=$(cat /out/target)
tr '\0' ' ' < /proc/$T/cmdline > /out/cmdline
if (echo x >> /proc/$T/exe) 2>>/out/errors; then echo "wrote /proc/$T/exe" >> /out/wrote; fi
cat /proc/$T/environ > /dev/null 2>>/out/errors && echo read > /out/environ-read
# A failing "exec 7<" ends a non-interactive shell: probe in a subshell.
if (exec 7</proc/$T/exe) 2>>/out/errors; then exec 7</proc/$T/exe; echo opened > /out/opened; fi
echo done > /out/phase1
while [ ! -e /out/go2 ]; do sleep 0.05; done
if [ -e /out/opened ] && (echo x >> /proc/self/fd/7) 2>>/out/errors; then
  echo "wrote through /proc/self/fd/7 after the init exec'd" >> /out/wrote
fi
echo done > /out/phase2
exec sleep 1000
`

// TestCVE2019_5736JoinedPIDNamespace: a container joins the pid namespace
// of a running one, so the first container sees the runtime's init of the
// second from its start until it execs the workload, the window that
// CVE-2019-5736 used. The first container tries to write the runtime
// binary through /proc/<init>/exe, keeps an fd of it and, once the init
// has exec'd (the binary is no longer executed, so ETXTBSY no longer
// protects it), reopens that fd for writing through /proc/self/fd. busybox
// cannot open O_PATH; an O_RDONLY fd is reopened the same way. The runtime
// is a copy whose hash is the judge. With CAP_SYS_PTRACE the attacker gets
// past the init's non-dumpability and only the seal of the binary holds;
// without it (same uid and capabilities as the init, so the kernel's
// ptrace rules leave only non-dumpability in the way) the init must not
// even let /proc/<init>/exe or environ be opened (the kernel lets root list
// /proc/<init>/fd whatever the init does).
func TestCVE2019_5736JoinedPIDNamespace(t *testing.T) {
	for _, ptrace := range []bool{true, false} {
		t.Run(map[bool]string{true: "ptrace-capable", false: "unprivileged"}[ptrace], func(t *testing.T) {
			h := newHarness(t)
			victim := h.useRuntimeCopy()
			before := fileHash(t, victim)
			attacker := h.newBundle().shell(exeAttackScript)
			out := h.bindDir(attacker, "out", "/out")
			if ptrace {
				caps := attacker.spec.Process.Capabilities
				caps.Bounding = append(caps.Bounding, "CAP_SYS_PTRACE")
				caps.Permitted = append(caps.Permitted, "CAP_SYS_PTRACE")
				caps.Effective = append(caps.Effective, "CAP_SYS_PTRACE")
			}
			h.mustCreate(attacker)
			h.mustStart(attacker.id)
			attackerPid := h.waitStatus(attacker.id, specs.StateRunning, 5*time.Second).Pid

			target := h.newBundle()
			target.spec.Process.Args = []string{"sleep", "1000"}
			target.setNamespace(specs.PIDNamespace, fmt.Sprintf("/proc/%d/ns/pid", attackerPid))
			initPid := h.mustCreate(target).Pid
			writeTestFile(t, filepath.Join(out, "target"), nsPid(t, initPid))
			waitFile(t, filepath.Join(out, "phase1"), 10*time.Second)
			h.mustStart(target.id)
			h.waitStatus(target.id, specs.StateRunning, 5*time.Second)
			writeTestFile(t, filepath.Join(out, "go2"), "go\n")
			waitFile(t, filepath.Join(out, "phase2"), 10*time.Second)

			cmdline, _ := os.ReadFile(filepath.Join(out, "cmdline"))
			errs, _ := os.ReadFile(filepath.Join(out, "errors"))
			t.Logf("attacked %q; errors seen:\n%s", cmdline, errs)
			if len(strings.TrimSpace(string(cmdline))) == 0 {
				t.Fatalf("the attacker did not see the init (pid %s in its namespace): nothing was tested", nsPid(t, initPid))
			}
			if wrote, err := os.ReadFile(filepath.Join(out, "wrote")); err == nil {
				t.Errorf("the container opened the runtime binary for writing:\n%s", wrote)
			}
			if after := fileHash(t, victim); after != before {
				t.Errorf("the runtime binary was modified from inside a container")
			}
			if ptrace {
				return
			}
			for _, f := range []string{"opened", "environ-read"} {
				if _, err := os.Stat(filepath.Join(out, f)); err == nil {
					t.Errorf("a container process without CAP_SYS_PTRACE could access the init's /proc entries (%s): the init is dumpable", f)
				}
			}
		})
	}
}

// fdListTo is fdListScript with its output in file.
func fdListTo(file string) string { return fdListScript + " > " + file }

// TestCVE2016_9962InitHoldsNoHostFDs: while a container is `created`, its
// init (reachable from the container through /proc/<init>/fd once anything
// can ptrace it) must hold no host directory and none of the fds the
// runtime itself inherited (here a host directory and a file, passed
// without --preserve-fds). Its only directory may be a procfs of the
// container's own pid namespace. Hooks the init runs get only stdio.
func TestCVE2016_9962InitHoldsNoHostFDs(t *testing.T) {
	h := newHarness(t)
	leakedDir, err := os.Open(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer leakedDir.Close()
	// Leaked at fds 20 and 21 (nil entries are closed): at low numbers the
	// fds the runtime passes to its init would replace them anyway.
	leaked := append([]*os.File{leakedDir}, h.openFiles("leaked")...)
	extra := append(make([]*os.File, 17), leaked...)
	b := h.newBundle()
	out := h.bindDir(b, "out", "/out")
	// createContainer hooks run before pivot_root: their paths are the host's.
	createHookFds := filepath.Join(out, "create-hook-fds")
	b.spec.Hooks = &specs.Hooks{
		CreateContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", fdListTo(createHookFds)}}},
		StartContainer:  []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", fdListTo("/out/start-hook-fds")}}},
	}
	if r := h.create(b, cmdOpts{extraFiles: extra}); r.Exit != 0 {
		t.Fatalf("create: %v", r)
	}
	initPid := h.mustState(b.id).Pid
	fdDir := fmt.Sprintf("/proc/%d/fd", initPid)
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		checkInitFd(t, filepath.Join(fdDir, e.Name()), leaked)
	}
	h.mustStart(b.id)
	for _, f := range []string{createHookFds, filepath.Join(out, "start-hook-fds")} {
		if got := strings.TrimSpace(waitFile(t, f, 5*time.Second)); got != "0 1 2 3" {
			t.Errorf("%s: hook fds = %q, want \"0 1 2 3\" (3 is ls's)", filepath.Base(f), got)
		}
	}
}

// checkInitFd fails the test if the init's fd at path (/proc/PID/fd/N) is
// one of the leaked files, a directory that is not procfs, or a procfs that
// shows the host's processes.
func checkInitFd(t *testing.T, path string, leaked []*os.File) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return // closed meanwhile, or a socket without a stat-able inode
	}
	link, _ := os.Readlink(path)
	for _, f := range leaked {
		var lst unix.Stat_t
		if unix.Fstat(int(f.Fd()), &lst) == nil && lst.Dev == st.Dev && lst.Ino == st.Ino {
			t.Errorf("init holds %s -> %s, an fd the runtime inherited from its caller", path, link)
		}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(path, &sfs); err != nil || sfs.Type != unix.PROC_SUPER_MAGIC {
		t.Errorf("init holds a host directory: %s -> %s (fs %#x, %v)", path, link, sfs.Type, err)
		return
	}
	if _, err := os.Stat(filepath.Join(path, strconv.Itoa(os.Getpid()))); err == nil {
		t.Errorf("init holds %s, a procfs that shows the host's processes", path)
	}
}

// fileCaps is a security.capability xattr (VFS_CAP_REVISION_2) with the
// effective flag and inheritable = inh, permitted empty.
func fileCaps(inh uint32) []byte {
	const revision2, flagEffective = 0x02000000, 0x1
	data := make([]byte, 20)
	binary.LittleEndian.PutUint32(data[0:], revision2|flagEffective)
	binary.LittleEndian.PutUint32(data[8:], inh) // data[0].inheritable
	return data
}

// TestCVE2022_29162NoInheritableCaps: a non-root workload execs a binary
// whose file capabilities hold CAP_KILL in the inheritable set. It gains
// CAP_KILL only if the process's own inheritable set has it, which the
// config does not ask for: a runtime that fills the inheritable set on its
// own hands out capabilities through such files. A first run with
// CAP_KILL inheritable in the config shows that file capabilities work
// here at all.
func TestCVE2022_29162NoInheritableCaps(t *testing.T) {
	h := newHarness(t)
	for _, configured := range []bool{true, false} {
		b := h.newBundle()
		// Named busybox so that argv[1] picks the applet.
		capbox := b.path("capdir/busybox")
		if err := os.Mkdir(filepath.Dir(capbox), 0o755); err != nil {
			t.Fatal(err)
		}
		copyFile(t, b.path("bin/busybox"), capbox, 0o755)
		if err := unix.Setxattr(capbox, "security.capability", fileCaps(1<<capNumber("CAP_KILL")), 0); err != nil {
			t.Skipf("cannot set file capabilities in this test directory: %v", err)
		}
		b.spec.Process.User = specs.User{UID: huskUID, GID: huskGID}
		b.spec.Process.NoNewPrivileges = false
		if configured {
			b.spec.Process.Capabilities.Inheritable = []string{"CAP_KILL"}
		}
		b.shell(`/capdir/busybox cat /proc/self/status`)
		got := capStatus(h.runOK(b))["CapPrm"]
		if configured && got != capMask("CAP_KILL") {
			t.Skipf("file capabilities are not honoured here (CapPrm %s with CAP_KILL inheritable): nothing to test", got)
		}
		if !configured && got != capMask() {
			t.Errorf("a file with inheritable CAP_KILL gave the workload CapPrm %s; the runtime filled the inheritable set", got)
		}
	}
}

// TestCVE2025_52881ProcfsWritesNotRedirected: before the runtime writes a
// sysctl and oom_score_adj, decoy files are bind-mounted over the procfs
// files it will write: by a createContainer hook (standing in for a racing
// container, which runs in the container's mount namespace before the
// writes), or by config mounts. The writes must reach the real procfs
// (seen through a second procfs at /proc2) and never the decoys. /proc/sys
// is not read-only here, or a redirected write would just fail.
func TestCVE2025_52881ProcfsWritesNotRedirected(t *testing.T) {
	own, _ := os.ReadFile("/proc/self/oom_score_adj")
	if v, _ := strconv.Atoi(strings.TrimSpace(string(own))); v > 500 {
		t.Skipf("the test's own oom_score_adj %d is above 500: 500 cannot be set without CAP_SYS_RESOURCE", v)
	}
	const sysctlFile, oomFile = "/proc/sys/net/ipv4/ip_local_port_range", "/proc/1/oom_score_adj"
	hostRange, _ := os.ReadFile(sysctlFile)
	for _, how := range []string{"hook", "config-mounts"} {
		t.Run(how, func(t *testing.T) {
			h := newHarness(t)
			b := h.newBundle()
			decoySysctl, decoyOom := filepath.Join(h.dir, "decoy-sysctl"), filepath.Join(h.dir, "decoy-oom")
			writeTestFile(t, decoySysctl, decoyContent)
			writeTestFile(t, decoyOom, decoyContent)
			b.spec.Linux.ReadonlyPaths = nil
			adj := 500
			b.spec.Process.OOMScoreAdj = &adj
			b.spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_local_port_range": "40001 50001"}
			b.addMount(specs.Mount{Destination: "/proc2", Type: "proc", Source: "proc"})
			hooked := filepath.Join(h.dir, "hook-mounted")
			if how == "hook" {
				script := fmt.Sprintf("/bin/mount --bind %s %s%s && /bin/mount --bind %s %s%s && echo ok > %s",
					decoySysctl, b.rootfs, sysctlFile, decoyOom, b.rootfs, oomFile, hooked)
				b.spec.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", script}}}}
			} else {
				b.addMount(specs.Mount{Destination: sysctlFile, Type: "bind", Source: decoySysctl, Options: []string{"bind"}})
				b.addMount(specs.Mount{Destination: "/proc/self/oom_score_adj", Type: "bind", Source: decoyOom, Options: []string{"bind"}})
			}
			b.shell(`cat /proc2/sys/net/ipv4/ip_local_port_range /proc2/1/oom_score_adj`)
			r := h.run(b, cmdOpts{})
			checkDecoy(t, decoySysctl, "the sysctl write was redirected")
			checkDecoy(t, decoyOom, "the oom_score_adj write was redirected")
			if now, _ := os.ReadFile(sysctlFile); string(now) != string(hostRange) {
				t.Errorf("host %s changed: %q -> %q", sysctlFile, hostRange, now)
			}
			if _, err := os.Stat(hooked); how == "hook" && err != nil {
				t.Fatalf("the hook did not plant the decoys, nothing was tested: %v", r)
			}
			if r.Exit != 0 {
				t.Logf("refused (allowed): %s", strings.TrimSpace(r.Stderr))
				return
			}
			if got := strings.Fields(r.Stdout); strings.Join(got, " ") != "40001 50001 500" {
				t.Errorf("real procfs values inside = %q, want the sysctl and oom_score_adj applied", r.Stdout)
			}
		})
	}
}

// TestCVE2025_52881HostProcInContainerNamespace: a createContainer hook
// (running in the container's mount namespace, before pivot_root) covers
// the init's /proc/<pid>/oom_score_adj in that namespace's copy of the
// host /proc. The write must still reach the real file and succeed: it
// would not if husk wrote through a path resolved in the container's
// mount namespace between the hook and pivot_root. (It cannot tell a
// procfs handle opened before the join from one opened after it: the
// lazy unmount of the old root unhashes the decoy either way.)
func TestCVE2025_52881HostProcInContainerNamespace(t *testing.T) {
	own, _ := os.ReadFile("/proc/self/oom_score_adj")
	if v, _ := strconv.Atoi(strings.TrimSpace(string(own))); v > 500 {
		t.Skipf("the test's own oom_score_adj %d is above 500: 500 cannot be set without CAP_SYS_RESOURCE", v)
	}
	h := newHarness(t)
	b := h.newBundle()
	decoy := filepath.Join(h.dir, "decoy-oom")
	writeTestFile(t, decoy, decoyContent)
	adj := 500
	b.spec.Process.OOMScoreAdj = &adj
	hooked := filepath.Join(h.dir, "hook-mounted")
	// The state on stdin has the init's pid as the runtime sees it.
	script := fmt.Sprintf(`pid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p') && [ -n "$pid" ] && /bin/mount --bind %s /proc/$pid/oom_score_adj && echo ok > %s`,
		decoy, hooked)
	b.spec.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", script}}}}
	b.shell(`cat /proc/self/oom_score_adj`)
	r := h.run(b, cmdOpts{})
	if _, err := os.Stat(hooked); err != nil {
		t.Fatalf("the hook did not plant the decoy, nothing was tested: %v", r)
	}
	checkDecoy(t, decoy, "the oom_score_adj write was redirected")
	if r.Exit != 0 || strings.TrimSpace(r.Stdout) != "500" {
		t.Fatalf("want the container to run with oom_score_adj 500: %v", r)
	}
}
