package libcontainer

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/huskrt/husk/libcontainer/configs"
	"golang.org/x/sys/unix"
)

func startSleeper(t *testing.T) (*exec.Cmd, int) {
	t.Helper()
	cmd := exec.Command("/bin/sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pidfd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(pidfd) })
	return cmd, pidfd
}

// TestPlanInitNamespacesRefusesAReusedPid: the namespaces of a hook are
// opened by /proc/<pid>/ns path; when the init behind the pidfd is gone,
// the pid may name another process, whose namespaces must not be joined.
func TestPlanInitNamespacesRefusesAReusedPid(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("opening another process's namespace files needs root")
	}
	cfg := &configs.Config{Namespaces: []configs.Namespace{{Type: configs.NEWNET}, {Type: configs.NEWUTS}}}
	init, initPidfd := startSleeper(t)
	stranger, _ := startSleeper(t)

	plan, err := planInitNamespaces(cfg, init.Process.Pid, initPidfd)
	if err != nil {
		t.Fatalf("live init: %v", err)
	}
	plan.close()

	init.Process.Kill()
	init.Wait()
	// As if the init's pid had been reused by stranger.
	_, err = planInitNamespaces(cfg, stranger.Process.Pid, initPidfd)
	if err == nil || !strings.Contains(err.Error(), "is gone") {
		t.Fatalf("pid of another process with the dead init's pidfd: err = %v, want a refusal", err)
	}
}
