package integration

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// suiteEnv is what every test shares: the runtime binary, a base directory
// (mode 0755 so user-namespaced containers can traverse it) and the template
// rootfs copied into each bundle. It is built once and never changed.
type suiteEnv struct {
	runtime  string
	baseDir  string
	template string
	// runToken makes container ids and cgroup paths unique across runs of
	// the suite that overlap on one machine.
	runToken string
}

// cgroupTestParent is the only cgroup parent the suite creates cgroups in
// (through the runtime); cleanup removes only what lies under it.
const cgroupTestParent = "/husk-test"

// loadSuite builds the shared environment on first use; later calls return
// the same value. TestMain calls it first so a broken runtime build stops
// the run with one clear message instead of one failure per test.
var loadSuite = sync.OnceValues(setupSuite)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		// Each test skips itself with the reason (see newHarness).
		os.Exit(m.Run())
	}
	s, err := loadSuite()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration suite setup:", err)
		os.Exit(1)
	}
	code := m.Run()
	s.teardown()
	os.Exit(code)
}

func setupSuite() (*suiteEnv, error) {
	runtime, err := locateRuntime()
	if err != nil {
		return nil, err
	}
	token := make([]byte, 3)
	if _, err := rand.Read(token); err != nil {
		return nil, fmt.Errorf("random token: %w", err)
	}
	base, err := os.MkdirTemp("", "husk-it-")
	if err != nil {
		return nil, fmt.Errorf("base dir: %w", err)
	}
	// MkdirTemp makes 0700; containers whose root is a mapped uid must be
	// able to walk down to their rootfs.
	if err := os.Chmod(base, 0o755); err != nil {
		return nil, fmt.Errorf("chmod base dir: %w", err)
	}
	s := &suiteEnv{runtime: runtime, baseDir: base, runToken: hex.EncodeToString(token)}
	s.template = filepath.Join(base, "rootfs-template")
	if err := buildTemplateRootfs(s.template); err != nil {
		_ = os.RemoveAll(base)
		return nil, fmt.Errorf("template rootfs: %w", err)
	}
	return s, nil
}

// locateRuntime returns HUSK_TEST_RUNTIME, or builds <repo>/husk.
func locateRuntime() (string, error) {
	if rt := os.Getenv("HUSK_TEST_RUNTIME"); rt != "" {
		if !strings.Contains(rt, "/") {
			return exec.LookPath(rt)
		}
		abs, err := filepath.Abs(rt)
		if err != nil {
			return "", fmt.Errorf("HUSK_TEST_RUNTIME %q: %w", rt, err)
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("HUSK_TEST_RUNTIME: %w", err)
		}
		return abs, nil
	}
	// go test runs the binary in the package directory: tests/integration.
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", fmt.Errorf("repo root: %w", err)
	}
	build := exec.Command("make", "-C", repo, "husk")
	out, err := build.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("make -C %s husk (set HUSK_TEST_RUNTIME to test another runtime): %w\n%s", repo, err, out)
	}
	bin := filepath.Join(repo, "husk")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("make husk left no binary: %w", err)
	}
	return bin, nil
}

// teardown removes the base directory and the (now empty) test cgroup
// parents. Only rmdir is used: a cgroup that still has members stays.
func (s *suiteEnv) teardown() {
	for _, dir := range cgroupHierarchies() {
		err := os.Remove(filepath.Join(dir, cgroupTestParent))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "integration: cgroup %s%s not removed: %v\n", dir, cgroupTestParent, err)
		}
	}
	if os.Getenv("HUSK_TEST_KEEP") != "" {
		fmt.Fprintln(os.Stderr, "integration: keeping", s.baseDir)
		return
	}
	if err := os.RemoveAll(s.baseDir); err != nil {
		fmt.Fprintln(os.Stderr, "integration: remove base dir:", err)
	}
}

// skipUnlessRoot skips t when the suite cannot run at all.
func skipUnlessRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("integration tests need root: they create namespaces, mounts and containers")
	}
}
