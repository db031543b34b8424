package nsenter

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// errorLine is the exact line the constructor writes for msg (already JSON
// escaped).
func errorLine(escapedMsg string) string {
	return `{"type":"error","msg":"` + escapedMsg + `"}` + "\n"
}

func TestErrorsAreOneJSONLine(t *testing.T) {
	requireRoot(t)
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	ownUserNS, err := os.Open("/proc/self/ns/user")
	if err != nil {
		t.Fatal(err)
	}
	defer ownUserNS.Close()
	unmapped := startHolder(t, mappedUserNS(0, 1000, 1))
	unmappedUserNS, _ := openNamespace(t, unmapped, "user")

	base := []string{EnvBootstrap + "=1", EnvSyncFD + "=" + strconv.Itoa(helperSyncFD)}
	tests := []struct {
		name    string
		env     []string
		nsFiles []*os.File
		want    string // the line on the sync socket
	}{{
		name: "fd not open",
		env:  []string{EnvSetns + "=99"},
		want: errorLine(`nsenter: namespace type of fd 99: Bad file descriptor`),
	}, {
		name:    "fd not a namespace",
		env:     []string{EnvSetns + "=4"},
		nsFiles: []*os.File{devNull},
		want:    errorLine(`nsenter: namespace type of fd 4: Inappropriate ioctl for device`),
	}, {
		// Joining one's own user namespace is EINVAL; it also shows the
		// "setns <type> (fd N)" form of setns errors.
		name:    "setns refused",
		env:     []string{EnvSetns + "=4"},
		nsFiles: []*os.File{ownUserNS},
		want:    errorLine(`nsenter: setns user (fd 4): Invalid argument`),
	}, {
		name:    "root not mapped in joined user namespace",
		env:     []string{EnvSetns + "=4"},
		nsFiles: []*os.File{unmappedUserNS},
		want:    errorLine(`nsenter: setresgid 0 in joined user namespace: Invalid argument`),
	}, {
		// Quote, backslash and a control character must be escaped.
		name: "message escaping",
		env:  []string{EnvSetns + "=4,\"x\\\t"},
		want: errorLine(`nsenter: invalid _HUSK_SETNS \"4,\"x\\\u0009\"`),
	}, {
		name: "trailing comma",
		env:  []string{EnvSetns + "=99,"},
		want: errorLine(`nsenter: invalid _HUSK_SETNS \"99,\"`),
	}, {
		name: "unshare with CLONE_NEWUSER",
		env:  []string{EnvUnshare + "=" + strconv.Itoa(unix.CLONE_NEWUSER|unix.CLONE_NEWUTS)},
		want: errorLine(`nsenter: invalid _HUSK_UNSHARE \"335544320\"`),
	}, {
		name: "unshare not a number",
		env:  []string{EnvUnshare + "=-1"},
		want: errorLine(`nsenter: invalid _HUSK_UNSHARE \"-1\"`),
	}, {
		name: "new pid namespace without fork",
		env:  []string{EnvUnshare + "=" + strconv.Itoa(unix.CLONE_NEWPID)},
		want: errorLine(`nsenter: CLONE_NEWPID and CLONE_NEWTIME need _HUSK_FORK=1`),
	}, {
		name: "fork not 1",
		env:  []string{EnvFork + "=yes"},
		want: errorLine(`nsenter: invalid _HUSK_FORK \"yes\"`),
	}, {
		name: "time offsets without time namespace",
		env:  []string{EnvTimeOffsets + "=monotonic 1 0\n"},
		want: errorLine(`nsenter: _HUSK_TIMENS_OFFSETS needs CLONE_NEWTIME`),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := runHelper(t, append(slices.Clone(base), tt.env...), tt.nsFiles...)
			if run.Sync != tt.want {
				t.Errorf("sync socket got %q, want %q", run.Sync, tt.want)
			}
			var msg Message
			if err := json.Unmarshal([]byte(run.Sync), &msg); err != nil || msg.Type != MessageError {
				t.Errorf("sync line %q is not an error message: %v", run.Sync, err)
			}
			if run.ExitCode != 1 {
				t.Errorf("exit code %d, want 1", run.ExitCode)
			}
			// The test framework prints on every run, so any stdout means
			// Go code ran after the failure.
			if run.Stdout != "" {
				t.Errorf("Go code ran after the error: stdout %q", run.Stdout)
			}
		})
	}
}

func TestEscapedMessageDecodes(t *testing.T) {
	requireRoot(t)
	env := []string{EnvBootstrap + "=1", EnvSyncFD + "=3", EnvSetns + "=\"\\\x01\x1f"}
	run := runHelper(t, env)
	var msg Message
	if err := json.Unmarshal([]byte(run.Sync), &msg); err != nil {
		t.Fatalf("decode %q: %v", run.Sync, err)
	}
	if want := "nsenter: invalid _HUSK_SETNS \"\"\\\x01\x1f\""; msg.Msg != want {
		t.Errorf("message is %q, want %q", msg.Msg, want)
	}
}

// Without a sync fd the error line goes to stderr.
func TestMissingSyncFD(t *testing.T) {
	requireRoot(t)
	for _, env := range [][]string{{EnvBootstrap + "=1"}, {EnvBootstrap + "=1", EnvSyncFD + "=3x"}} {
		run := runHelper(t, env)
		want := errorLine(`nsenter: _HUSK_SYNCFD is missing or invalid`)
		if run.ExitCode != 1 || run.Stderr != want || run.Sync != "" || run.Stdout != "" {
			t.Errorf("env %q: exit %d, stderr %q, sync %q, stdout %q; want exit 1 and stderr %q",
				env, run.ExitCode, run.Stderr, run.Sync, run.Stdout, want)
		}
	}
}

// Without _HUSK_NSENTER=1 the constructor does nothing: it joins nothing
// and leaves every variable, even the other _HUSK_ ones, alone.
func TestNoBootstrapChangesNothing(t *testing.T) {
	requireRoot(t)
	holder := startHolder(t, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET})
	netns, _ := openNamespace(t, holder, "net")
	ownNet := readLink(t, "/proc/self/ns/net")

	protocol := []string{
		EnvSyncFD + "=3",
		EnvSetns + "=4",
		EnvUnshare + "=" + strconv.Itoa(unix.CLONE_NEWUTS),
		EnvFork + "=1",
	}
	for _, bootstrap := range [][]string{nil, {EnvBootstrap + "=0"}, {EnvBootstrap + "="}} {
		env := append(slices.Clone(protocol), bootstrap...)
		run := runHelper(t, env, netns)
		report := run.mustReport(t)
		if report.NS["net"] != ownNet || report.NS["uts"] != readLink(t, "/proc/self/ns/uts") {
			t.Errorf("%q: helper changed namespaces: %v", bootstrap, report.NS)
		}
		if !slices.Equal(report.HuskEnv, env) {
			t.Errorf("%q: helper sees %q, want %q", bootstrap, report.HuskEnv, env)
		}
		if run.Sync != "" {
			t.Errorf("%q: sync socket got %q", bootstrap, run.Sync)
		}
	}
}
