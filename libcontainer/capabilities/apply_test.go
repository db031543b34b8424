package capabilities

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/huskrt/husk/libcontainer/configs"
)

// childEnv marks a re-executed test binary that must call Apply and report.
const childEnv = "HUSK_CAPABILITIES_TEST_CHILD"

// Section markers in the child's output.
const (
	threadMarker = "== thread =="
	execMarker   = "== exec =="
)

// applyRequest is what the parent asks the child to apply.
type applyRequest struct {
	Caps *configs.Capabilities
	UID  uint32
	GID  uint32
	Gids []uint32
}

func TestMain(m *testing.M) {
	if req := os.Getenv(childEnv); req != "" {
		os.Exit(runApplyChild(req))
	}
	os.Exit(m.Run())
}

// runApplyChild applies the request on a locked thread, prints that
// thread's status, then execs cat to print what the workload would get.
func runApplyChild(encoded string) int {
	runtime.LockOSThread()
	var req applyRequest
	if err := json.Unmarshal([]byte(encoded), &req); err != nil {
		fmt.Println("child: decode request:", err)
		return 2
	}
	if err := Apply(req.Caps, req.UID, req.GID, req.Gids); err != nil {
		fmt.Println("error:", err)
		return 3
	}
	status, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		fmt.Println("child: read status:", err)
		return 2
	}
	fmt.Printf("%s\n%s%s\n", threadMarker, status, execMarker)
	err = unix.Exec("/bin/cat", []string{"cat", "/proc/self/status"}, nil)
	fmt.Println("child: exec cat:", err)
	return 2
}

// runApply runs the child and returns its output and exit error.
func runApply(t *testing.T, req applyRequest) (string, error) {
	t.Helper()
	encoded, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+string(encoded))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// statusSections splits the child output into the thread's and the
// exec'd workload's /proc status fields.
func statusSections(t *testing.T, out string) (thread, workload map[string]string) {
	t.Helper()
	thread, workload = map[string]string{}, map[string]string{}
	var current map[string]string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		switch line {
		case threadMarker:
			current = thread
			continue
		case execMarker:
			current = workload
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if ok && current != nil {
			current[key] = strings.TrimSpace(value)
		}
	}
	if len(thread) == 0 || len(workload) == 0 {
		t.Fatalf("child output lacks status sections:\n%s", out)
	}
	return thread, workload
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: Apply changes uid and capabilities")
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [maxCapWords]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		t.Fatalf("capget: %v", err)
	}
	for _, c := range []int{unix.CAP_SETUID, unix.CAP_SETGID, unix.CAP_SETPCAP} {
		if data[0].Effective&(1<<uint(c)) == 0 {
			t.Skipf("needs %s in the effective set", Name(c))
		}
	}
	if _, err := os.Stat("/bin/cat"); err != nil {
		t.Skipf("needs /bin/cat to exec as the workload: %v", err)
	}
}

func hexMask(caps ...int) string {
	var mask uint64
	for _, c := range caps {
		mask |= 1 << uint(c)
	}
	return fmt.Sprintf("%016x", mask)
}

func assertFields(t *testing.T, where string, got, want map[string]string) {
	t.Helper()
	for key, value := range want {
		if got[key] != value {
			t.Errorf("%s %s = %q, want %q", where, key, got[key], value)
		}
	}
}

func TestApplyNonRootUserWithCaps(t *testing.T) {
	requireRoot(t)
	out, err := runApply(t, applyRequest{
		Caps: &configs.Capabilities{
			// 62 is above any current kernel's last capability: skipped.
			Bounding:    []int{unix.CAP_CHOWN, unix.CAP_KILL, unix.CAP_NET_RAW, 62},
			Effective:   []int{unix.CAP_KILL, 62},
			Permitted:   []int{unix.CAP_KILL, unix.CAP_NET_RAW},
			Inheritable: []int{unix.CAP_KILL},
			Ambient:     []int{unix.CAP_KILL},
		},
		UID: 1000, GID: 1000, Gids: []uint32{1001, 1002},
	})
	if err != nil {
		t.Fatalf("child failed: %v\n%s", err, out)
	}
	thread, workload := statusSections(t, out)
	ids := map[string]string{
		"Uid":    "1000\t1000\t1000\t1000",
		"Gid":    "1000\t1000\t1000\t1000",
		"Groups": "1001 1002",
	}
	assertFields(t, "thread", thread, ids)
	assertFields(t, "workload", workload, ids)
	assertFields(t, "thread", thread, map[string]string{
		"CapBnd": hexMask(unix.CAP_CHOWN, unix.CAP_KILL, unix.CAP_NET_RAW),
		"CapEff": hexMask(unix.CAP_KILL),
		"CapPrm": hexMask(unix.CAP_KILL, unix.CAP_NET_RAW),
		"CapInh": hexMask(unix.CAP_KILL),
		"CapAmb": hexMask(unix.CAP_KILL),
	})
	// After execve of a file without file capabilities, a non-root process
	// keeps only what the ambient set carries into permitted and effective.
	assertFields(t, "workload", workload, map[string]string{
		"CapBnd": hexMask(unix.CAP_CHOWN, unix.CAP_KILL, unix.CAP_NET_RAW),
		"CapEff": hexMask(unix.CAP_KILL),
		"CapPrm": hexMask(unix.CAP_KILL),
		"CapInh": hexMask(unix.CAP_KILL),
		"CapAmb": hexMask(unix.CAP_KILL),
	})
}

func TestApplyNilCapsAsRoot(t *testing.T) {
	requireRoot(t)
	out, err := runApply(t, applyRequest{Caps: nil, UID: 0, GID: 0})
	if err != nil {
		t.Fatalf("child failed: %v\n%s", err, out)
	}
	thread, workload := statusSections(t, out)
	// Root exec'ing a file normally gains its whole bounding set; with the
	// bounding set empty it must gain nothing.
	empty := map[string]string{
		"Uid":    "0\t0\t0\t0",
		"Gid":    "0\t0\t0\t0",
		"Groups": "",
		"CapBnd": hexMask(),
		"CapEff": hexMask(),
		"CapPrm": hexMask(),
		"CapInh": hexMask(),
		"CapAmb": hexMask(),
	}
	assertFields(t, "thread", thread, empty)
	assertFields(t, "workload", workload, empty)
}

func TestApplyErrorsNameTheCapability(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name string
		caps *configs.Capabilities
		want string
	}{
		{
			name: "ambient not inheritable",
			caps: &configs.Capabilities{
				Bounding:  []int{unix.CAP_KILL, unix.CAP_NET_RAW},
				Effective: []int{unix.CAP_NET_RAW},
				Permitted: []int{unix.CAP_NET_RAW},
				Ambient:   []int{unix.CAP_NET_RAW},
			},
			want: "error: capabilities: raise ambient CAP_NET_RAW: operation not permitted",
		},
		{
			name: "effective not permitted",
			caps: &configs.Capabilities{
				Bounding:  []int{unix.CAP_KILL},
				Effective: []int{unix.CAP_KILL},
			},
			want: "error: capabilities: capset: effective CAP_KILL not in permitted set: operation not permitted",
		},
		{
			name: "negative number",
			caps: &configs.Capabilities{Permitted: []int{-1}},
			want: "error: capabilities: invalid capability number -1 in permitted set",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runApply(t, applyRequest{Caps: tt.caps, UID: 1000, GID: 1000})
			if err == nil {
				t.Fatalf("child succeeded, want %q:\n%s", tt.want, out)
			}
			if got := strings.TrimSpace(out); got != tt.want {
				t.Errorf("child output %q, want %q", got, tt.want)
			}
		})
	}
}
