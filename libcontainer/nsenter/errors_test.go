package nsenter

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// bootstrapError decodes the one frame the bootstrap sent: it must be a
// FrameError and nothing may follow it.
func bootstrapError(t *testing.T, sync string) *InitError {
	t.Helper()
	r := strings.NewReader(sync)
	typ, payload, err := readFrame(r)
	if err != nil {
		t.Fatalf("read frame from %q: %v", sync, err)
	}
	if typ != FrameError {
		t.Fatalf("got frame type %d (%q), want FrameError", typ, payload)
	}
	var ie *InitError
	if err := decodeInitError(payload); !errors.As(err, &ie) {
		t.Fatalf("decode error frame %q: %v", payload, err)
	}
	if r.Len() != 0 {
		t.Errorf("%d bytes after the error frame", r.Len())
	}
	return ie
}

func TestErrorsAreOneFrame(t *testing.T) {
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
		errno   syscall.Errno
		msg     string
	}{{
		name:  "fd not open",
		env:   []string{EnvSetns + "=99"},
		errno: unix.EBADF,
		msg:   "nsenter: namespace type of fd 99: Bad file descriptor",
	}, {
		name:    "fd not a namespace",
		env:     []string{EnvSetns + "=4"},
		nsFiles: []*os.File{devNull},
		errno:   unix.ENOTTY,
		msg:     "nsenter: namespace type of fd 4: Inappropriate ioctl for device",
	}, {
		// Joining one's own user namespace is EINVAL; it also shows the
		// "setns <type> (fd N)" form of setns errors.
		name:    "setns refused",
		env:     []string{EnvSetns + "=4"},
		nsFiles: []*os.File{ownUserNS},
		errno:   unix.EINVAL,
		msg:     "nsenter: setns user (fd 4): Invalid argument",
	}, {
		name:    "root not mapped in joined user namespace",
		env:     []string{EnvSetns + "=4"},
		nsFiles: []*os.File{unmappedUserNS},
		errno:   unix.EINVAL,
		msg:     "nsenter: setresgid 0 in joined user namespace: Invalid argument",
	}, {
		// Quote, backslash and control characters arrive as they are.
		name: "message bytes verbatim",
		env:  []string{EnvSetns + "=4,\"x\\\t\x01"},
		msg:  "nsenter: invalid _HUSK_SETNS \"4,\"x\\\t\x01\"",
	}, {
		name: "trailing comma",
		env:  []string{EnvSetns + "=99,"},
		msg:  `nsenter: invalid _HUSK_SETNS "99,"`,
	}, {
		name: "unshare with CLONE_NEWUSER",
		env:  []string{EnvUnshare + "=" + strconv.Itoa(unix.CLONE_NEWUSER|unix.CLONE_NEWUTS)},
		msg:  `nsenter: invalid _HUSK_UNSHARE "335544320"`,
	}, {
		name: "unshare not a number",
		env:  []string{EnvUnshare + "=-1"},
		msg:  `nsenter: invalid _HUSK_UNSHARE "-1"`,
	}, {
		name: "new pid namespace without fork",
		env:  []string{EnvUnshare + "=" + strconv.Itoa(unix.CLONE_NEWPID)},
		msg:  "nsenter: CLONE_NEWPID and CLONE_NEWTIME need _HUSK_FORK=1",
	}, {
		name: "fork not 1",
		env:  []string{EnvFork + "=yes"},
		msg:  `nsenter: invalid _HUSK_FORK "yes"`,
	}, {
		name: "time offsets without time namespace",
		env:  []string{EnvTimeOffsets + "=monotonic 1 0\n"},
		msg:  "nsenter: _HUSK_TIMENS_OFFSETS needs CLONE_NEWTIME",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := runHelper(t, append(slices.Clone(base), tt.env...), tt.nsFiles...)
			ie := bootstrapError(t, run.Sync)
			if ie.Msg != tt.msg || ie.Errno != tt.errno {
				t.Errorf("got errno %d, message %q; want errno %d, message %q", ie.Errno, ie.Msg, tt.errno, tt.msg)
			}
			if tt.errno != 0 && !errors.Is(ie, tt.errno) {
				t.Errorf("errors.Is(%v, %v) is false", ie, tt.errno)
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

// Without a sync fd the error goes to stderr as text.
func TestMissingSyncFD(t *testing.T) {
	requireRoot(t)
	for _, env := range [][]string{{EnvBootstrap + "=1"}, {EnvBootstrap + "=1", EnvSyncFD + "=3x"}} {
		run := runHelper(t, env)
		want := "husk: nsenter: _HUSK_SYNCFD is missing or invalid\n"
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
