package libcontainer

import (
	"fmt"
	"os/exec"

	"github.com/huskrt/husk/libcontainer/configs"
	"github.com/huskrt/husk/libcontainer/hooks"
	"github.com/huskrt/husk/libcontainer/nsenter"
	"golang.org/x/sys/unix"
)

// inContainer returns a hooks.Launcher that starts each hook in every
// namespace of the container's init (pid), as the runtime-spec wants for
// createContainer and startContainer hooks. The hook is started through a
// sealed copy of this binary whose C bootstrap (package nsenter, exec mode)
// joins the namespaces and execs the hook; the Go runtime never starts in
// there. The hook runs as root of the container's user namespace.
func inContainer(cfg *configs.Config, pid int) hooks.Launcher {
	return func(cmd *exec.Cmd) error {
		joins := &configs.Config{}
		for _, ns := range cfg.Namespaces {
			path := fmt.Sprintf("/proc/%d/ns/%s", pid, ns.Type.ProcName())
			joins.Namespaces = append(joins.Namespaces, configs.Namespace{Type: ns.Type, Path: path})
		}
		plan, err := planNamespaces(joins)
		if err != nil {
			return err
		}
		defer plan.close()
		self, err := sealedSelf()
		if err != nil {
			return err
		}
		defer self.Close()
		req := nsenter.Request{SyncFD: -1, Exec: true, Fork: plan.cFork}
		base := 3 + len(cmd.ExtraFiles)
		for i := range plan.cJoins {
			req.JoinFDs = append(req.JoinFDs, base+i)
		}
		cmd.ExtraFiles = append(cmd.ExtraFiles, plan.cJoins...)
		// The child execs /proc/self/fd/N after the extra files are in
		// place at 3, 4, ...: N lies above them.
		execFd, err := unix.FcntlInt(self.Fd(), unix.F_DUPFD_CLOEXEC, 3+len(cmd.ExtraFiles))
		if err != nil {
			return fmt.Errorf("dup sealed binary fd: %w", err)
		}
		defer unix.Close(execFd)
		cmd.Args = append([]string{"husk-hook", cmd.Path}, cmd.Args...)
		cmd.Path = fmt.Sprintf("/proc/self/fd/%d", execFd)
		cmd.Env = append(cmd.Env, req.Env()...)
		return plan.start(cmd)
	}
}
