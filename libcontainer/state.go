package libcontainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/huskrt/husk/libcontainer/configs"
	"github.com/huskrt/husk/libcontainer/nsenter"
	"golang.org/x/sys/unix"
)

// Status is the runtime-spec status of a container.
type Status string

// The statuses of the runtime-spec (plus "paused", as runc reports it).
const (
	Creating Status = "creating"
	Created  Status = "created"
	Running  Status = "running"
	Paused   Status = "paused"
	Stopped  Status = "stopped"
)

// State is the OCI state of a container plus runc's extra fields. Its JSON
// form is what `husk state` prints.
type State struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      Status            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Owner       string            `json:"owner"`
}

// ociState is the runtime-spec state alone: the JSON that hooks read on stdin.
type ociState struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Status      Status            `json:"status"`
	Pid         int               `json:"pid,omitempty"`
	Bundle      string            `json:"bundle"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// savedState is what husk keeps on disk in <root>/<id>/state.json.
type savedState struct {
	ID      string    `json:"id"`
	Bundle  string    `json:"bundle"`
	Created time.Time `json:"created"`
	Owner   string    `json:"owner"`
	InitPid int       `json:"initPid"`
	// InitStartTime is field 22 of /proc/PID/stat at create time: a pid
	// whose start time differs is a reused pid, not our init.
	InitStartTime uint64          `json:"initStartTime"`
	Config        *configs.Config `json:"config"`
	// ProcessCreds are the workload's credentials as create worked them
	// out (user names resolved in the image); saved only when `start`
	// needs them, to run startContainer hooks with them.
	ProcessCreds *nsenter.ExecCreds `json:"processCreds,omitempty"`

	// raw is the JSON this state was written as or read from: a state
	// file with the same bytes need not be decoded again.
	raw []byte
}

const (
	stateFileName = "state.json"
	execFifoName  = "exec.fifo"
)

// writeStateFile writes the state atomically: a temp file renamed over the
// old one, so a reader never sees half a file.
func writeStateFile(dir string, s *savedState) error {
	data := encodeState(s)
	if err := writeFileAtomic(filepath.Join(dir, stateFileName), data, 0o600); err != nil {
		return err
	}
	s.raw = data
	return nil
}

// readStateFile reads dir's state file. If it holds the same bytes as
// known was written as or read from (e.g. `run` starting the container it
// has just created), known itself is returned without decoding: cold,
// encoding/json costs ≈ 0.1 ms per decode. The bytes, not the file's
// inode, decide: after a delete and a create of the same id the new file
// may well get the old inode number.
func readStateFile(dir string, known *savedState) (*savedState, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFileName))
	if err != nil {
		return nil, err
	}
	if known != nil && known.raw != nil && bytes.Equal(data, known.raw) {
		return known, nil
	}
	var s savedState
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decode %s: %w", filepath.Join(dir, stateFileName), err)
	}
	// Every method relies on these; a state file without them (truncated
	// by hand, or written by something else) is refused here rather than
	// crashing list, state or delete later.
	if s.Config == nil || s.ID == "" {
		return nil, fmt.Errorf("decode %s: %w", filepath.Join(dir, stateFileName), errCorruptState)
	}
	s.raw = data
	return &s, nil
}

// errCorruptState is wrapped by readStateFile for a state file that
// decodes but lacks what every container has.
var errCorruptState = errors.New("not a husk container state (no id or config)")

// writeFileAtomic writes data to a temporary file next to path and renames
// it over path.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// processStartTime returns field 22 (starttime) of /proc/PID/stat and
// whether the process is a zombie or dead.
func processStartTime(pid int) (start uint64, dead bool, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, true, err
	}
	// The command name may contain spaces and parentheses: split after the
	// last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, true, fmt.Errorf("parse /proc/%d/stat: no ')'", pid)
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); starttime is field 22.
	if len(fields) < 20 {
		return 0, true, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(fields))
	}
	start, err = strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, true, fmt.Errorf("parse /proc/%d/stat starttime: %w", pid, err)
	}
	state := fields[0]
	return start, state == "Z" || state == "X", nil
}

// initAlive reports whether the saved init is still our live process:
// same pid, same start time, not a zombie.
func (s *savedState) initAlive() bool {
	if s.InitPid <= 0 {
		return false
	}
	start, dead, err := processStartTime(s.InitPid)
	return err == nil && !dead && start == s.InitStartTime
}

// statusOf works out a container's status from its saved state and what is
// on the system now.
func statusOf(dir string, s *savedState) Status {
	if !s.initAlive() {
		return Stopped
	}
	if _, err := os.Lstat(filepath.Join(dir, execFifoName)); err == nil {
		return Created
	}
	if frozen(s) {
		return Paused
	}
	return Running
}

// frozen reports whether the container's cgroup is frozen. Cgroups are not
// managed yet, so a container is never paused.
func frozen(*savedState) bool { return false }

// pidfdOpen opens a pidfd for pid; callers must check the start time
// afterwards to be sure the pidfd refers to the saved process.
func pidfdOpen(pid int) (int, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	return fd, nil
}

// openInitPidfd opens a pidfd on the saved init and verifies (after opening,
// so the check cannot race with pid reuse) that it is still the same process.
func (s *savedState) openInitPidfd() (int, error) {
	if s.InitPid <= 0 {
		return -1, errNotRunning
	}
	fd, err := pidfdOpen(s.InitPid)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return -1, errNotRunning
		}
		return -1, err
	}
	if !s.initAlive() {
		unix.Close(fd)
		return -1, errNotRunning
	}
	return fd, nil
}

var errNotRunning = errors.New("container not running")
