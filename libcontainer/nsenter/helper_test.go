package nsenter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The tests re-execute the test binary, which contains the constructor, as a
// helper process. helperEnv selects TestHelper's helper mode; it has no _HUSK_
// prefix so the constructor never touches it.
const helperEnv = "HUSK_NSENTER_TEST_HELPER"

// helperMarker starts the helper's report line on stdout.
const helperMarker = "HELPER-REPORT:"

// Fixed fd numbers in the helper: ExtraFiles start at 3.
const (
	helperSyncFD  = 3
	helperFirstNS = 4
)

// helperReport is what a helper process saw once Go code ran.
type helperReport struct {
	Pid, UID, GID int
	// NS maps a /proc/self/ns name to its link ("net:[4026531840]").
	NS map[string]string
	// UTSOwner is the user namespace owning the helper's UTS namespace.
	UTSOwner string
	// HuskEnv lists the _HUSK_* entries of os.Environ.
	HuskEnv []string
	// FirstNSFD is the link of fd helperFirstNS ("" if it is closed).
	FirstNSFD string
	// TimensOffsets is /proc/self/timens_offsets.
	TimensOffsets string
	// Dumpable is prctl(PR_GET_DUMPABLE) as Go code first sees it.
	Dumpable int
	// Comm is /proc/self/comm, the process name ps shows.
	Comm string
}

// TestHelper is the body of helper processes; it is skipped in normal runs.
func TestHelper(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("runs only as a helper process started by the other tests")
	}
	report, err := collectReport()
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
	line, err := json.Marshal(report)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
	fmt.Printf("%s%s\n", helperMarker, line)
}

func collectReport() (*helperReport, error) {
	report := &helperReport{Pid: os.Getpid(), UID: os.Getuid(), GID: os.Getgid(), NS: map[string]string{}}
	dumpable, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("PR_GET_DUMPABLE: %w", err)
	}
	report.Dumpable = dumpable
	comm, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		return nil, fmt.Errorf("read comm: %w", err)
	}
	report.Comm = strings.TrimSpace(string(comm))
	for _, name := range []string{"net", "mnt", "user", "uts", "pid", "time"} {
		link, err := os.Readlink("/proc/self/ns/" + name)
		if errors.Is(err, os.ErrNotExist) && name == "time" {
			continue // kernel without time namespaces
		}
		if err != nil {
			return nil, fmt.Errorf("read namespace %s: %w", name, err)
		}
		report.NS[name] = link
	}
	// EPERM: the owner is an ancestor of our user namespace, so no test
	// that looks at UTSOwner is running.
	owner, err := namespaceOwner("/proc/self/ns/uts")
	if err != nil && !errors.Is(err, unix.EPERM) {
		return nil, err
	}
	report.UTSOwner = owner
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "_HUSK_") {
			report.HuskEnv = append(report.HuskEnv, kv)
		}
	}
	report.FirstNSFD, _ = os.Readlink(fmt.Sprintf("/proc/self/fd/%d", helperFirstNS))
	offsets, err := os.ReadFile("/proc/self/timens_offsets")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read timens_offsets: %w", err)
	}
	report.TimensOffsets = string(offsets)
	return report, nil
}

// namespaceOwner returns the link of the user namespace that owns the
// namespace at path.
func namespaceOwner(path string) (string, error) {
	ns, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", path, err)
	}
	defer ns.Close()
	ownerFD, err := unix.IoctlRetInt(int(ns.Fd()), unix.NS_GET_USERNS)
	if err != nil {
		return "", fmt.Errorf("NS_GET_USERNS of %s: %w", path, err)
	}
	defer unix.Close(ownerFD)
	link, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", ownerFD))
	if err != nil {
		return "", fmt.Errorf("read owner of %s: %w", path, err)
	}
	return link, nil
}

// helperRun is the outcome of one helper process.
type helperRun struct {
	// Report is nil when the helper printed none (e.g. it failed before Go).
	Report *helperReport
	// Sync is everything written to the sync socket.
	Sync           string
	Stdout, Stderr string
	ExitCode       int
}

// runHelper runs the test binary as a helper with env added and nsFiles as
// fds helperFirstNS, helperFirstNS+1, ...; fd helperSyncFD is a socket whose
// other end is read into helperRun.Sync.
func runHelper(t *testing.T, env []string, nsFiles ...*os.File) helperRun {
	t.Helper()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	// Non-blocking so os.NewFile makes it pollable and read deadlines work.
	if err := unix.SetNonblock(pair[0], true); err != nil {
		t.Fatalf("set non-blocking: %v", err)
	}
	syncParent := os.NewFile(uintptr(pair[0]), "sync-parent")
	defer syncParent.Close()
	syncChild := os.NewFile(uintptr(pair[1]), "sync-child")

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelper$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), helperEnv+"=1"), env...)
	cmd.ExtraFiles = append([]*os.File{syncChild}, nsFiles...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A forked grandchild keeps stdout open; never wait on it forever.
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Start()
	syncChild.Close()
	if err != nil {
		t.Fatalf("start helper: %v", err)
	}
	killTimer := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	defer killTimer.Stop()
	waitErr := cmd.Wait()

	run := helperRun{Stdout: stdout.String(), Stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(waitErr, &exitErr):
		run.ExitCode = exitErr.ExitCode()
	case waitErr != nil:
		t.Fatalf("wait for helper: %v", waitErr)
	}
	if err := syncParent.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatalf("set read deadline: %v", err)
	}
	var sync bytes.Buffer
	if _, err := sync.ReadFrom(syncParent); err != nil {
		t.Fatalf("read sync socket: %v", err)
	}
	run.Sync = sync.String()

	for _, line := range strings.Split(run.Stdout, "\n") {
		if data, ok := strings.CutPrefix(line, helperMarker); ok {
			run.Report = &helperReport{}
			if err := json.Unmarshal([]byte(data), run.Report); err != nil {
				t.Fatalf("decode helper report %q: %v", data, err)
			}
		}
	}
	return run
}

// mustReport returns the report of a helper that should have succeeded.
func (r helperRun) mustReport(t *testing.T) *helperReport {
	t.Helper()
	if r.ExitCode != 0 || r.Report == nil {
		t.Fatalf("helper failed: exit %d, sync %q, stdout %q, stderr %q", r.ExitCode, r.Sync, r.Stdout, r.Stderr)
	}
	return r.Report
}

// startHolder starts a sleeping process with attr (new namespaces) and
// returns its pid; it is killed and reaped when the test ends, and its
// namespaces go away with it and the fds the test opened.
func startHolder(t *testing.T, attr *syscall.SysProcAttr) int {
	t.Helper()
	cmd := exec.Command("sleep", "infinity")
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start namespace holder: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd.Process.Pid
}

// openNamespace opens /proc/<pid>/ns/<name>, closed when the test ends.
func openNamespace(t *testing.T, pid int, name string) (*os.File, string) {
	t.Helper()
	path := fmt.Sprintf("/proc/%d/ns/%s", pid, name)
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { f.Close() })
	return f, readLink(t, path)
}

func readLink(t *testing.T, path string) string {
	t.Helper()
	link, err := os.Readlink(path)
	if err != nil {
		t.Fatalf("readlink %s: %v", path, err)
	}
	return link
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create and join namespaces")
	}
}
