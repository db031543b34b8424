package hooks

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// probeName marks the test binary running as a hook: either as its argv[0]
// base name (hooks without args) or as argv[1] (hooks with args, whose
// argv[0] is arbitrary).
const probeName = "husk-hook-probe"

// probeReport is what a probe hook saw.
type probeReport struct {
	Args  []string
	Env   []string
	Stdin string
	FDs   []int
}

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == probeName || (len(os.Args) > 2 && os.Args[1] == probeName) {
		if err := runProbe(); err != nil {
			fmt.Fprintln(os.Stderr, "probe:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runProbe records argv, environment, stdin and open fds. Without args the
// report goes next to argv[0], else to the file named by argv[2].
func runProbe() error {
	// List fds before this process opens anything itself.
	fds, err := probeOpenFDs()
	if err != nil {
		return err
	}
	stdin, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	report := probeReport{Args: os.Args, Env: os.Environ(), Stdin: string(stdin), FDs: fds}
	data, err := json.Marshal(report)
	if err != nil {
		return err
	}
	reportPath := filepath.Join(filepath.Dir(os.Args[0]), "report.json")
	if filepath.Base(os.Args[0]) != probeName {
		reportPath = os.Args[2]
	}
	return os.WriteFile(reportPath, data, 0o600)
}

// probeOpenFDs lists this process's open fds with raw syscalls, so that no fd
// of the Go runtime's poller shows up.
func probeOpenFDs() ([]int, error) {
	dirfd, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /proc/self/fd: %w", err)
	}
	defer unix.Close(dirfd)
	var names []string
	buf := make([]byte, 4096)
	for {
		n, err := unix.ReadDirent(dirfd, buf)
		if err != nil {
			return nil, fmt.Errorf("read /proc/self/fd: %w", err)
		}
		if n == 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	var fds []int
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil {
			return nil, fmt.Errorf("fd name %q: %w", name, err)
		}
		if fd != dirfd {
			fds = append(fds, fd)
		}
	}
	sort.Ints(fds)
	return fds, nil
}

// newProbe returns the path of a probe hook: a symlink named probeName to
// this test binary, alone in a fresh directory.
func newProbe(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), probeName)
	if err := os.Symlink(self, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func readReport(t *testing.T, path string) probeReport {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("probe hook left no report: %v", err)
	}
	var report probeReport
	if err := json.Unmarshal(data, &report); err != nil {
		t.Fatal(err)
	}
	return report
}
