package nsenter

import (
	"errors"
	"fmt"
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

// TestBootstrapErrors: a request the bootstrap cannot carry out ends it
// before anything runs: for an init with one FrameError and exit 1, in
// exec mode with the same message on stderr and exit 127.
func TestBootstrapErrors(t *testing.T) {
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

	// fd 3 is the sync socket, namespace fds start at 4.
	base := []string{EnvBootstrap + "=1", EnvSyncFD + "=3"}
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
		// The errno's text is musl's strerror.
		msg: "nsenter: namespace type of fd 4: Not a tty",
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
			// The bootstrap of an init reports on the sync socket.
			env := append([]string{EnvInitSync + "=3"}, base...)
			run := runProgram(t, programOptions{env: append(env, tt.env...), files: tt.nsFiles})
			ie := bootstrapError(t, run.sync)
			if ie.Msg != tt.msg || ie.Errno != tt.errno {
				t.Errorf("init mode: got errno %d, message %q; want errno %d, message %q", ie.Errno, ie.Msg, tt.errno, tt.msg)
			}
			if tt.errno != 0 && !errors.Is(ie, tt.errno) {
				t.Errorf("errors.Is(%v, %v) is false", ie, tt.errno)
			}
			if run.code != 1 || run.stdout != "" || run.stderr != "" {
				t.Errorf("init mode: exit %d, stdout %q, stderr %q; want 1 and nothing", run.code, run.stdout, run.stderr)
			}

			// Exec mode writes the same message to stderr, even with a
			// sync socket, and never runs the program.
			env = append([]string{EnvExec + "=1"}, base...)
			run = runProgram(t, programOptions{
				env: append(env, tt.env...), files: tt.nsFiles,
				args: []string{busyboxPath, "echo", "ran"},
			})
			want := "husk: " + tt.msg + "\n"
			if run.code != 127 || run.stderr != want || run.stdout != "" || run.sync != "" {
				t.Errorf("exec mode: exit %d, stdout %q, stderr %q, sync %q; want 127 and stderr %q",
					run.code, run.stdout, run.stderr, run.sync, want)
			}
		})
	}
}

// Without a sync fd the bootstrap of an init writes its error to stderr.
func TestMissingSyncFD(t *testing.T) {
	requireRoot(t)
	for _, env := range [][]string{{EnvBootstrap + "=1"}, {EnvBootstrap + "=1", EnvSyncFD + "=3x"}} {
		run := runProgram(t, programOptions{env: append([]string{EnvInitSync + "=3"}, env...)})
		want := "husk: nsenter: _HUSK_SYNCFD is missing or invalid\n"
		if run.code != 1 || run.stderr != want || run.sync != "" || run.stdout != "" {
			t.Errorf("env %q: exit %d, stderr %q, sync %q, stdout %q; want exit 1 and stderr %q",
				env, run.code, run.stderr, run.sync, run.stdout, want)
		}
	}
}

// Without _HUSK_NSENTER=1 there is no bootstrap: the init starts in the
// namespaces it was given, and neither joins, unshares nor forks (a fork
// would send a pid before the started frame). (Exec mode needs the
// bootstrap: TestProgramRefusesHandRun.)
func TestNoBootstrapChangesNothing(t *testing.T) {
	requireRoot(t)
	holder := startHolder(t, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET})
	netns, _ := openNamespace(t, holder, "net")
	ownNet, ownUTS := readLink(t, "/proc/self/ns/net"), readLink(t, "/proc/self/ns/uts")

	protocol := []string{
		EnvSyncFD + "=3",
		EnvSetns + "=4",
		EnvUnshare + "=" + strconv.Itoa(unix.CLONE_NEWUTS),
		EnvFork + "=1",
	}
	for _, bootstrap := range [][]string{nil, {EnvBootstrap + "=0"}, {EnvBootstrap + "="}} {
		p := startInit(t, initOptions{env: append(slices.Clone(protocol), bootstrap...), nsFiles: []*os.File{netns}})
		if err := p.conn.WaitStarted(); err != nil {
			t.Fatalf("%q: WaitStarted: %v (stderr %q)", bootstrap, err, p.stderr.String())
		}
		net := readLink(t, fmt.Sprintf("/proc/%d/ns/net", p.pid))
		uts := readLink(t, fmt.Sprintf("/proc/%d/ns/uts", p.pid))
		if net != ownNet || uts != ownUTS {
			t.Errorf("%q: init changed namespaces: net %s, uts %s", bootstrap, net, uts)
		}
		p.conn.Close()
		if code := p.wait(t); code != 1 || p.stdout.Len() != 0 || p.stderr.Len() != 0 {
			t.Errorf("%q: init exited %d, stdout %q, stderr %q; want 1 and nothing", bootstrap, code, p.stdout.String(), p.stderr.String())
		}
	}
}
