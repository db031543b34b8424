package nsenter

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// statusScript prints the exec'd program's /proc/self/status (that of cat,
// which the shell runs with what it has) and the uid of its parent.
const statusScript = `cat /proc/self/status
echo "ParentUid:	$(awk '/^Uid:/ {print $2}' /proc/$PPID/status)"
`

// statusFields parses "Key:\tvalue" lines.
func statusFields(out string) map[string]string {
	fields := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if key, value, ok := strings.Cut(line, ":"); ok {
			fields[key] = strings.TrimSpace(value)
		}
	}
	return fields
}

func checkStatus(t *testing.T, out string, want map[string]string) {
	t.Helper()
	got := statusFields(out)
	for key, value := range want {
		if got[key] != value {
			t.Errorf("%s is %q, want %q; output:\n%s", key, got[key], value, out)
		}
	}
}

// testCreds is uid 1000 with CAP_NET_BIND_SERVICE ambient, as
// testMountsAndExec asks of the init.
func testCreds(t *testing.T) *ExecCreds {
	const chown, bindService = 1 << unix.CAP_CHOWN, 1 << unix.CAP_NET_BIND_SERVICE
	return &ExecCreds{
		UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 20},
		Caps: CapSets{
			Bounding: chown | bindService, Effective: chown | bindService, Permitted: chown | bindService,
			Inheritable: bindService, Ambient: bindService,
		},
		LastCap:         lastCap(t),
		NoNewPrivileges: true,
	}
}

// What the program exec'd with testCreds has.
var testCredsStatus = map[string]string{
	"Uid":        "1000\t1000\t1000\t1000",
	"Gid":        "1000\t1000\t1000\t1000",
	"Groups":     "10 20",
	"CapInh":     "0000000000000400",
	"CapPrm":     "0000000000000400",
	"CapEff":     "0000000000000400",
	"CapBnd":     "0000000000000401",
	"CapAmb":     "0000000000000400",
	"NoNewPrivs": "1",
}

// TestExecModeCredentials: exec mode takes on the requested user, groups,
// capabilities and no_new_privs before it execs; with a fork, only the
// child does, and the intermediate stays root.
func TestExecModeCredentials(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	for _, fork := range []bool{false, true} {
		t.Run(fmt.Sprintf("fork=%v", fork), func(t *testing.T) {
			req := Request{SyncFD: -1, Exec: true, Fork: fork, Creds: testCreds(t)}
			run := runExecMode(t, req.Env(), nil, busyboxPath, "sh", "-c", statusScript+"env")
			if run.code != 0 || run.stderr != "" {
				t.Fatalf("exit %d, stderr %q, stdout %q", run.code, run.stderr, run.stdout)
			}
			checkStatus(t, run.stdout, testCredsStatus)
			// The parent is the intermediate with a fork, the test
			// without: root either way.
			checkStatus(t, run.stdout, map[string]string{"ParentUid": "0"})
			if strings.Contains(run.stdout, "_HUSK_") {
				t.Errorf("the program sees _HUSK_ variables:\n%s", run.stdout)
			}
		})
	}
}

// TestExecModeCredentialsAfterChroot: the usual hook of a container with
// a user namespace but no mount namespace. The program joins the user
// namespace, whose setgroups is "deny", chroots into the rootfs, and takes
// on the credentials there: no groups is fine (the setgroups file is read
// through the /proc opened before the chroot, as the rootfs has none),
// some groups is an error.
func TestExecModeCredentialsAfterChroot(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	_, rootfs := makeRootfs(t)
	// The temporary directories are 0700 and belong to host root, which
	// is not mapped in the user namespace.
	for dir := rootfs; dir != os.TempDir(); dir = filepath.Dir(dir) {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	holder := startHolder(t, mappedUserNS(0, 0, 65536))
	if setgroups, err := os.ReadFile(fmt.Sprintf("/proc/%d/setgroups", holder)); err != nil || string(setgroups) != "deny\n" {
		t.Fatalf("the user namespace's setgroups is %q (%v), want deny", setgroups, err)
	}
	userns, _ := openNamespace(t, holder, "user")
	creds := testCreds(t)
	creds.AdditionalGids = nil
	req := Request{SyncFD: -1, JoinFDs: []int{4}, Exec: true, Fork: true, Chroot: rootfs, Creds: creds}

	script := "pwd; ls /; id -u; id -g"
	run := runExecMode(t, req.Env(), []*os.File{userns}, "/bin/busybox", "sh", "-c", script)
	if want := "/\nbin\nproc\ntmp\nwork\n1000\n1000\n"; run.code != 0 || run.stdout != want || run.stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0 and %q", run.code, run.stdout, run.stderr, want)
	}

	creds.AdditionalGids = []uint32{10}
	run = runExecMode(t, req.Env(), []*os.File{userns}, "/bin/busybox", "echo", "ran")
	want := "husk: nsenter: capabilities: setgroups [10]: Operation not permitted\n"
	if run.code != 127 || run.stderr != want || run.stdout != "" {
		t.Errorf("groups in a user namespace that denies setgroups: exit %d, stdout %q, stderr %q; want 127 and %q",
			run.code, run.stdout, run.stderr, want)
	}
}

// TestExecModeChroot: the program runs in the root it asked for, from
// its "/", and the variable is gone.
func TestExecModeChroot(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	_, rootfs := makeRootfs(t)
	req := Request{SyncFD: -1, Exec: true, Chroot: rootfs}
	run := runExecMode(t, req.Env(), nil, "/bin/busybox", "sh", "-c", "pwd; ls /; echo $(env | /bin/busybox grep -c _HUSK_)")
	if want := "/\nbin\nproc\ntmp\nwork\n0\n"; run.code != 0 || run.stdout != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0 and %q", run.code, run.stdout, run.stderr, want)
	}
}

// TestExecModeCredentialErrors: bad credentials or roots stop exec mode
// before it runs anything, with exec mode's text and status 127.
func TestExecModeCredentialErrors(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	execMode := (&Request{SyncFD: -1, Exec: true}).Env()
	invalid := func(creds string) []string {
		return []string{EnvExecCreds + "=" + creds, fmt.Sprintf("husk: nsenter: invalid _HUSK_EXEC_CREDS %q\n", creds)}
	}
	const sysAdmin, bindService = 1 << unix.CAP_SYS_ADMIN, 1 << unix.CAP_NET_BIND_SERVICE
	capsetFails := (&ExecCreds{
		UID: 1000, GID: 1000, LastCap: lastCap(t),
		Caps: CapSets{Bounding: bindService, Permitted: bindService, Effective: bindService | sysAdmin},
	}).String()
	for _, tc := range []struct {
		name string
		// env and the stderr wanted
		envAndStderr []string
	}{
		{"empty", invalid("")},
		{"uid only", invalid("1000")},
		{"no group count", invalid("1000 1000 0 40 0 0 0 0 0")},
		{"group missing", invalid("1000 1000 0 40 0 0 0 0 0 2 10")},
		{"field too many", invalid("1000 1000 0 40 0 0 0 0 0 0 5")},
		{"trailing space", invalid("1000 1000 0 40 0 0 0 0 0 0 ")},
		{"two spaces", invalid("1000  1000 0 40 0 0 0 0 0 0")},
		{"sign", invalid("+1000 1000 0 40 0 0 0 0 0 0")},
		{"negative", invalid("-1 1000 0 40 0 0 0 0 0 0")},
		{"uid that means keep", invalid("4294967295 1000 0 40 0 0 0 0 0 0")},
		{"gid too big", invalid("1000 4294967296 0 40 0 0 0 0 0 0")},
		{"nnp 2", invalid("1000 1000 2 40 0 0 0 0 0 0")},
		{"last cap 64", invalid("1000 1000 0 64 0 0 0 0 0 0")},
		{"mask over 64 bits", invalid("1000 1000 0 40 18446744073709551616 0 0 0 0 0")},
		{"too many groups", invalid("1000 1000 0 40 0 0 0 0 0 65537")},
		{"relative root", []string{EnvChroot + "=rootfs", "husk: nsenter: _HUSK_CHROOT \"rootfs\" is not an absolute path\n"}},
		{"empty root", []string{EnvChroot + "=", "husk: nsenter: _HUSK_CHROOT \"\" is not an absolute path\n"}},
		{"missing root", []string{EnvChroot + "=/nonexistent", "husk: nsenter: chroot /nonexistent: No such file or directory\n"}},
		{"capset refused", []string{EnvExecCreds + "=" + capsetFails,
			"husk: nsenter: capabilities: capset: effective CAP_SYS_ADMIN not in permitted set: Operation not permitted\n"}},
	} {
		env := append([]string{tc.envAndStderr[0]}, execMode...)
		run := runExecMode(t, env, nil, busyboxPath, "echo", "ran")
		if run.code != 127 || run.stderr != tc.envAndStderr[1] || run.stdout != "" || run.sync != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q, sync %q; want 127 and %q",
				tc.name, run.code, run.stdout, run.stderr, run.sync, tc.envAndStderr[1])
		}
	}

	// An init gets its root and credentials with its exec plan.
	for _, v := range []string{EnvChroot + "=/", EnvExecCreds + "=0 0 0 40 0 0 0 0 0 0"} {
		env := []string{EnvInitSync + "=3", EnvBootstrap + "=1", EnvSyncFD + "=3", v}
		run := runProgram(t, programOptions{env: env})
		ie := bootstrapError(t, run.sync)
		if want := "nsenter: _HUSK_CHROOT and _HUSK_EXEC_CREDS need _HUSK_EXEC=1"; ie.Msg != want || run.code != 1 {
			t.Errorf("init with %s: exit %d, error %q; want 1 and %q", v, run.code, ie.Msg, want)
		}
	}
}

// TestExecModeChildDiesWithIntermediate: the credentials change clears the
// parent death signal, so the forked child must set it again afterwards;
// it dies when the intermediate does.
func TestExecModeChildDiesWithIntermediate(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	becomeSubreaper(t)
	req := Request{SyncFD: -1, Exec: true, Fork: true, Creds: testCreds(t)}
	cmd := startProgram(t, programOptions{env: req.Env(), args: []string{busyboxPath, "sleep", "60"}})
	intermediate := cmd.Process.Pid

	// Wait until the child runs sleep, i.e. is past its credentials.
	child := 0
	for deadline := time.Now().Add(10 * time.Second); child == 0; {
		children, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", intermediate, intermediate))
		if pid := strings.TrimSpace(string(children)); pid != "" {
			cmdline, _ := os.ReadFile("/proc/" + pid + "/cmdline")
			if string(cmdline) == "sleep\x0060\x00" {
				fmt.Sscan(pid, &child)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no child of %d runs sleep", intermediate)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Cleanup(func() {
		_ = unix.Kill(child, unix.SIGKILL)
		_, _ = unix.Wait4(child, nil, 0, nil)
	})
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	// The orphan is ours (subreaper); it must be dead, by SIGKILL.
	var ws unix.WaitStatus
	for deadline := time.Now().Add(5 * time.Second); ; {
		pid, err := unix.Wait4(child, &ws, unix.WNOHANG, nil)
		if err != nil && !errors.Is(err, unix.EINTR) {
			t.Fatalf("wait for %d: %v", child, err)
		}
		if pid == child {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child %d still runs 5s after its intermediate died", child)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("the child ended with status %#x, want death by SIGKILL", ws)
	}
}
