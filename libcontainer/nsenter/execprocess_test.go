package nsenter

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// nofileHard returns the test's hard RLIMIT_NOFILE.
func nofileHard(t *testing.T) uint64 {
	t.Helper()
	var current unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &current); err != nil {
		t.Fatal(err)
	}
	return current.Max
}

// raisedNofileHard is a hard RLIMIT_NOFILE above the test's own, which
// only a process with CAP_SYS_RESOURCE may set: exec mode must set the
// rlimits while still root, before the credentials change.
func raisedNofileHard(t *testing.T) uint64 {
	t.Helper()
	var caps [2]unix.CapUserData
	if err := unix.Capget(&unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}, &caps[0]); err != nil {
		t.Fatal(err)
	}
	if caps[0].Effective&(1<<unix.CAP_SYS_RESOURCE) == 0 {
		t.Skip("the test runs without CAP_SYS_RESOURCE, so nothing may raise a hard limit")
	}
	nrOpen, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		t.Fatal(err)
	}
	ceiling, err := strconv.ParseUint(strings.TrimSpace(string(nrOpen)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	current := nofileHard(t)
	if current >= ceiling {
		t.Skipf("the hard RLIMIT_NOFILE (%d) is already the kernel's ceiling fs.nr_open", current)
	}
	return min(current+1000, ceiling)
}

// TestExecModeProcessSettings: a hook run as uid 1000 in a chroot gets
// the rlimits, the umask and the cwd it asked for, and none of the
// variables; with a fork, in the child. A raised hard limit shows that
// the rlimits are set before the credentials change.
func TestExecModeProcessSettings(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	_, rootfs := makeRootfs(t)
	umask := uint32(0o27)
	run := func(t *testing.T, fork bool, hard uint64) {
		req := Request{
			SyncFD: -1, Exec: true, Fork: fork, Chroot: rootfs, Creds: testCreds(t),
			Rlimits: []Rlimit{{Type: unix.RLIMIT_NOFILE, Soft: 123, Hard: hard}},
			Umask:   &umask,
			Cwd:     "/work",
		}
		script := "ulimit -Sn; ulimit -Hn; umask; pwd; id -u; echo $(env | /bin/busybox grep -c _HUSK_)"
		run := runExecMode(t, req.Env(), nil, "/bin/busybox", "sh", "-c", script)
		want := fmt.Sprintf("123\n%d\n0027\n/work\n1000\n0\n", hard)
		if run.code != 0 || run.stdout != want || run.stderr != "" {
			t.Errorf("exit %d, stdout %q, stderr %q; want 0 and %q", run.code, run.stdout, run.stderr, want)
		}
	}
	for _, fork := range []bool{false, true} {
		t.Run(fmt.Sprintf("fork=%v", fork), func(t *testing.T) {
			run(t, fork, nofileHard(t)-1)
		})
		t.Run(fmt.Sprintf("fork=%v,raised hard limit", fork), func(t *testing.T) {
			run(t, fork, raisedNofileHard(t))
		})
	}
}

// TestExecModeCwdRootFirst: the cwd is entered as root before the
// credentials change, as runc does: uid 1000 starts in a directory only
// root may enter (and cannot read it). A missing cwd is still an error.
func TestExecModeCwdRootFirst(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	_, rootfs := makeRootfs(t)
	private := filepath.Join(rootfs, "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	req := Request{SyncFD: -1, Exec: true, Chroot: rootfs, Creds: testCreds(t), Cwd: "/private"}
	run := runExecMode(t, req.Env(), nil, "/bin/busybox", "sh", "-c", "pwd; busybox test -r . || echo unreadable")
	if run.code != 0 || run.stdout != "/private\nunreadable\n" || run.stderr != "" {
		t.Errorf("uid 1000: exit %d, stdout %q, stderr %q; want 0 and \"/private\\nunreadable\\n\"", run.code, run.stdout, run.stderr)
	}

	req.Cwd = "/missing"
	run = runExecMode(t, req.Env(), nil, "/bin/busybox", "pwd")
	want := "husk: nsenter: process.cwd /missing: No such file or directory\n"
	if run.code != 127 || run.stderr != want {
		t.Errorf("missing cwd: exit %d, stderr %q; want 127 and %q", run.code, run.stderr, want)
	}
}

// TestExecModeProcessSettingErrors: malformed rlimits, umasks and cwds
// stop exec mode before it runs anything, and so do limits or a cwd the
// kernel refuses; an init gets all three with its exec plan instead.
func TestExecModeProcessSettingErrors(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	execMode := (&Request{SyncFD: -1, Exec: true}).Env()
	invalid := func(name, value string) []string {
		return []string{name + "=" + value, fmt.Sprintf("husk: nsenter: invalid %s %q\n", name, value)}
	}
	for _, tc := range []struct {
		name string
		// env and the stderr wanted
		envAndStderr []string
	}{
		{"empty rlimits", invalid(EnvExecRlimits, "")},
		{"resource only", invalid(EnvExecRlimits, "7")},
		{"hard missing", invalid(EnvExecRlimits, "7 1")},
		{"second triple short", invalid(EnvExecRlimits, "7 1 2 3 4")},
		{"rlimit field too many", invalid(EnvExecRlimits, "7 1 2 3")},
		{"rlimits trailing space", invalid(EnvExecRlimits, "7 1 2 ")},
		{"rlimits two spaces", invalid(EnvExecRlimits, "7  1 2")},
		{"negative resource", invalid(EnvExecRlimits, "-1 1 2")},
		{"resource over int", invalid(EnvExecRlimits, "2147483648 1 2")},
		{"limit over 64 bits", invalid(EnvExecRlimits, "7 1 18446744073709551616")},
		{"empty umask", invalid(EnvExecUmask, "")},
		{"umask over 0777", invalid(EnvExecUmask, "512")},
		{"umask in hex", invalid(EnvExecUmask, "0x12")},
		{"umask sign", invalid(EnvExecUmask, "+18")},
		{"umask trailing space", invalid(EnvExecUmask, "18 ")},
		{"relative cwd", []string{EnvExecCwd + "=work", "husk: nsenter: _HUSK_EXEC_CWD \"work\" is not an absolute path\n"}},
		{"empty cwd", []string{EnvExecCwd + "=", "husk: nsenter: _HUSK_EXEC_CWD \"\" is not an absolute path\n"}},
		{"soft above hard", []string{EnvExecRlimits + "=7 10 5",
			"husk: nsenter: process.rlimits: type 7 (soft 10, hard 5): Invalid argument\n"}},
		{"unknown resource", []string{EnvExecRlimits + "=7 10 10 99 1 1",
			"husk: nsenter: process.rlimits: type 99 (soft 1, hard 1): Invalid argument\n"}},
		{"missing cwd", []string{EnvExecCwd + "=/nonexistent",
			"husk: nsenter: process.cwd /nonexistent: No such file or directory\n"}},
	} {
		env := append([]string{tc.envAndStderr[0]}, execMode...)
		run := runExecMode(t, env, nil, busyboxPath, "echo", "ran")
		if run.code != 127 || run.stderr != tc.envAndStderr[1] || run.stdout != "" || run.sync != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q, sync %q; want 127 and %q",
				tc.name, run.code, run.stdout, run.stderr, run.sync, tc.envAndStderr[1])
		}
	}

	for _, v := range []string{EnvExecRlimits + "=7 10 10", EnvExecUmask + "=18", EnvExecCwd + "=/"} {
		env := []string{EnvInitSync + "=3", EnvBootstrap + "=1", EnvSyncFD + "=3", v}
		run := runProgram(t, programOptions{env: env})
		ie := bootstrapError(t, run.sync)
		want := "nsenter: _HUSK_EXEC_RLIMITS, _HUSK_EXEC_UMASK and _HUSK_EXEC_CWD need _HUSK_EXEC=1"
		if ie.Msg != want || run.code != 1 {
			t.Errorf("init with %s: exit %d, error %q; want 1 and %q", v, run.code, ie.Msg, want)
		}
	}
}
