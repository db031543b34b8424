package libcontainer

import (
	"fmt"
	"os/exec"

	"github.com/huskrt/husk/libcontainer/configs"
	"github.com/huskrt/husk/libcontainer/hooks"
	"github.com/huskrt/husk/libcontainer/nsenter"
	"github.com/huskrt/husk/libcontainer/timerslack"
	"golang.org/x/sys/unix"
)

// hookPlace says where inContainer starts a hook besides the init's
// namespaces.
type hookPlace struct {
	// creds, if set, are the credentials the hook takes before it is
	// exec'd: the workload's, for startContainer hooks (runc runs those
	// from its init after the workload's user and capabilities are set).
	creds *nsenter.ExecCreds
	// chroot, if set, is the root the hook runs in: the rootfs of a
	// container without a mount namespace of its own, whose init only
	// chroots into it.
	chroot string
	// process, if set, gives the hook the workload's rlimits, umask and
	// cwd, as runc's init has set them when it runs startContainer hooks.
	process *configs.Process
}

// inContainer returns a hooks.Launcher that starts each hook in every
// namespace of the container's init (pid, pinned by pidfd), as the
// runtime-spec wants for createContainer and startContainer hooks. The hook is started through
// the sealed C init program in exec mode (package nsenter), which joins
// the namespaces, takes place's root and credentials, and execs the hook;
// without credentials the hook runs as root of the container's user
// namespace.
func inContainer(cfg *configs.Config, pid, pidfd int, place hookPlace, childSlack uint64) hooks.Launcher {
	return func(cmd *exec.Cmd) error {
		plan, err := planInitNamespaces(cfg, pid, pidfd)
		if err != nil {
			return err
		}
		defer plan.close()
		initProg, err := nsenter.SealedInit()
		if err != nil {
			return err
		}
		defer initProg.Close()
		req := nsenter.Request{SyncFD: -1, Exec: true, Fork: plan.cFork, Creds: place.creds, Chroot: place.chroot}
		if p := place.process; p != nil {
			for _, l := range p.Rlimits {
				req.Rlimits = append(req.Rlimits, nsenter.Rlimit{Type: l.Type, Soft: l.Soft, Hard: l.Hard})
			}
			umask := uint32(0o022)
			if p.User.Umask != nil {
				umask = *p.User.Umask
			}
			req.Umask = &umask
			req.Cwd = p.Cwd
		}
		base := 3 + len(cmd.ExtraFiles)
		for i := range plan.cJoins {
			req.JoinFDs = append(req.JoinFDs, base+i)
		}
		cmd.ExtraFiles = append(cmd.ExtraFiles, plan.cJoins...)
		progPath, progEnv := passProgram(&cmd.ExtraFiles, initProg)
		cmd.Args = append([]string{"husk-hook", cmd.Path}, cmd.Args...)
		cmd.Path = progPath
		cmd.Env = append(append(cmd.Env, req.Env()...), progEnv)
		// The fork happens on plan's thread, which may be a new one: set
		// the slack there (see Root.SetChildTimerSlack).
		return plan.run(func() error { return timerslack.Do(childSlack, cmd.Start) })
	}
}

// planInitNamespaces opens the namespaces of cfg that the init (pid)
// has, by their /proc/<pid>/ns paths, and plans to join them. The paths
// name whatever process has the pid now, so the init must still exist
// after they are opened: pidfd refers to the init itself, and while it
// exists (a zombie too) its pid cannot be reused. Otherwise the hook
// would join a stranger's namespaces.
func planInitNamespaces(cfg *configs.Config, pid, pidfd int) (*nsPlan, error) {
	joins := &configs.Config{}
	for _, ns := range cfg.Namespaces {
		path := fmt.Sprintf("/proc/%d/ns/%s", pid, ns.Type.ProcName())
		joins.Namespaces = append(joins.Namespaces, configs.Namespace{Type: ns.Type, Path: path})
	}
	plan, err := planNamespaces(joins)
	if err != nil {
		return nil, err
	}
	if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil {
		plan.close()
		return nil, fmt.Errorf("the container's init (pid %d) is gone: %w", pid, err)
	}
	return plan, nil
}

// hostLauncher starts a hook in the runtime's namespaces with the
// container's child timer slack (Root.SetChildTimerSlack).
func (c *Container) hostLauncher() hooks.Launcher {
	return func(cmd *exec.Cmd) error {
		return timerslack.Do(c.childSlack, cmd.Start)
	}
}
