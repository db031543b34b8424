package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/huskrt/husk/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// SignalAll sends sig to every process of the container (`kill --all`).
// Until cgroups are managed, the container's processes are found through
// its own pid namespace: every process whose pid namespace is init's. A
// container that shares a pid namespace with others cannot be told apart
// that way, so it is an error rather than a guess.
func (c *Container) SignalAll(sig unix.Signal) error {
	ns, ok := c.saved.Config.Namespace(configs.NEWPID)
	if !ok || ns.Path != "" {
		return errors.New("kill --all: the container has no pid namespace of its own; finding its processes needs cgroups (not supported yet)")
	}
	initNs, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", c.saved.InitPid))
	if err != nil || !c.saved.initAlive() {
		return errNotRunning
	}
	// Init first: with SIGKILL the kernel then kills the rest anyway.
	if err := c.Signal(sig); err != nil {
		return err
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return fmt.Errorf("kill --all: %w", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == c.saved.InitPid {
			continue
		}
		if link, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err != nil || link != initNs {
			continue
		}
		// Through a pidfd, so a pid reused in between is not hit: the
		// namespace is checked again after the pidfd is open.
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue
		}
		if link, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && link == initNs {
			unix.PidfdSendSignal(fd, sig, nil, 0)
		}
		unix.Close(fd)
	}
	return nil
}
