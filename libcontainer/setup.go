package libcontainer

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/huskrt/husk/libcontainer/capabilities"
	"github.com/huskrt/husk/libcontainer/configs"
	"github.com/huskrt/husk/libcontainer/hooks"
	"github.com/huskrt/husk/libcontainer/nsenter"
	"github.com/huskrt/husk/libcontainer/procfs"
	"github.com/huskrt/husk/libcontainer/rootfs"
	"golang.org/x/sys/unix"
)

// initSetup sets a container up from the outside: this process does, on
// one OS thread that joins the init's mount, cgroup, network, IPC and UTS
// namespaces, everything the init does not have to do itself (mounts,
// pivot_root, /dev, masks, the console, hostname, sysctls, hooks). The init
// (C code, package nsenter) only makes the new filesystems of the config
// on request, then takes the final plan: credentials, cwd, the wait for
// `start`, execve. So no second Go runtime ever starts inside the
// container (docs/architecture.md).
type initSetup struct {
	c       *Container
	cfg     *configs.Config
	p       *initProcess
	conn    *nsenter.Conn
	fifo    *os.File // exec.fifo, O_PATH
	console *os.File // connected console socket, or nil
	opts    CreateOptions
	// owner is the host ids of the container's root (nil: the host's).
	owner *owner
	// Set on the setup thread: a verified procfs handle of this process,
	// and (after pivot_root) the container's root.
	proc *procfs.Handle
	root *os.File
	// creds are the workload's credentials, worked out for the plan; the
	// startContainer hooks of `start` run with them.
	creds *nsenter.ExecCreds
	// lastCap is the kernel's highest capability, read before the thread
	// joins the container's namespaces.
	lastCap int
}

// run does the setup on a dedicated, locked OS thread that is thrown away
// afterwards (never unlocked): its root, cwd and namespaces end up the
// container's, and no other goroutine may ever run there.
func (s *initSetup) run() error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- s.onThread()
	}()
	return <-errc
}

// elsewhere runs f on some other thread of this process, in the runtime's
// own namespaces and root: for the hooks that run in the runtime
// namespace, and to start helpers whose paths must not resolve in the
// container.
func elsewhere(f func() error) error {
	errc := make(chan error, 1)
	go func() { errc <- f() }()
	return <-errc
}

func (s *initSetup) onThread() error {
	cfg := s.cfg
	// setns into a mount namespace needs a file system context (root,
	// cwd) of our own; chroot and pivot_root then affect this thread only.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("setup: unshare fs: %w", err)
	}
	// Preferably the runtime's own /proc, opened while this thread is
	// still in the runtime's mount namespace: trusted, and no new procfs
	// instance to make and dissolve (procfs.OpenOwn). When it does not
	// qualify (another pid namespace's, read-only), procfs.Open, also
	// before the join (a new instance for this pid namespace; its
	// fallbacks must number pids as we do too).
	proc, err := procfs.OpenOwn()
	if err != nil {
		ownErr := err
		if proc, err = procfs.Open(); err == nil {
			if err = proc.CheckSelf(); err != nil {
				proc.Close()
			}
		}
		if err != nil {
			return fmt.Errorf("setup: %w (and the runtime's /proc: %w)", err, ownErr)
		}
	}
	defer proc.Close()
	// Read now, through the runtime's /proc: after pivot_root it would be
	// the container's, where a config mount could cover it.
	lastCap, err := capabilities.LastCap()
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	s.lastCap = lastCap
	if err := s.joinInitNamespaces(); err != nil {
		return err
	}
	s.proc = proc
	hostIDs, err := readIDMaps(proc, s.p.pid)
	if err != nil {
		return err
	}
	if s.owner = hostIDs.root(); s.owner != nil {
		if err := actAs(s.owner); err != nil {
			return err
		}
	}
	_, userNs := cfg.Namespace(configs.NEWUSER)
	ropts := rootfs.Options{
		Proc:        proc,
		MountFS:     s.conn.Mount,
		BindDevices: userNs,
		HostIDs:     hostIDs.toHost,
		Process:     strconv.Itoa(s.p.pid),
	}
	_, mountNs := cfg.Namespace(configs.NEWNS)
	if mountNs {
		if err := rootfs.Prepare(cfg, ropts); err != nil {
			return fmt.Errorf("rootfs: %w", err)
		}
	} else if err := rootfs.PrepareChroot(cfg, ropts); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	if err := s.createHooks(); err != nil {
		return err
	}
	if mountNs {
		// pivot_root also moves the root of every process whose root was
		// the old one: the init's too.
		if err := rootfs.Enter(cfg); err != nil {
			return fmt.Errorf("rootfs: %w", err)
		}
	} else if err := chrootThread(cfg.Rootfs); err != nil {
		return err
	}
	rootFd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("setup: open the container's root: %w", err)
	}
	s.root = os.NewFile(uintptr(rootFd), "/")
	defer s.root.Close()
	peer, err := s.setupConsole()
	if err != nil {
		return err
	}
	if peer != nil {
		defer peer.Close()
	}
	if mountNs {
		if err := rootfs.Finish(cfg, proc); err != nil {
			return fmt.Errorf("rootfs: %w", err)
		}
	}
	if err := setupNames(cfg); err != nil {
		return err
	}
	if err := s.setupSysctl(); err != nil {
		return err
	}
	plan, err := s.execPlan(peer)
	if err != nil {
		return err
	}
	return s.conn.Exec(plan)
}

// joinInitNamespaces joins those of the init's namespaces that this thread
// can join and the setup needs: mount (the filesystem), cgroup (cgroup
// paths as the container sees them), network, IPC and UTS (sysctls and
// names). The user and pid namespaces cannot be joined by a thread and are
// not needed: this process keeps its host privileges.
func (s *initSetup) joinInitNamespaces() error {
	var flags int
	for _, t := range []configs.NamespaceType{configs.NEWNS, configs.NEWCGROUP, configs.NEWNET, configs.NEWIPC, configs.NEWUTS} {
		if _, ok := s.cfg.Namespace(t); ok {
			flags |= int(t.CloneFlag())
		}
	}
	if flags == 0 {
		return nil
	}
	// The pidfd was opened as soon as the pid was known, before the start
	// time was recorded: it is the init's even if the pid is reused now.
	pidfd := s.p.pidfd
	hostMnt, err := threadMountNamespace()
	if err != nil {
		return err
	}
	if err := unix.Setns(pidfd, flags); err != nil {
		return fmt.Errorf("setup: join the init's namespaces (%#x): %w", flags, err)
	}
	if flags&unix.CLONE_NEWNS == 0 {
		return nil
	}
	// Everything after this mounts and pivots: it must never happen in
	// the runtime's own mount namespace.
	if mnt, err := threadMountNamespace(); err != nil || mnt == hostMnt {
		return fmt.Errorf("setup: the init is not in a mount namespace of its own (%v)", err)
	}
	return nil
}

// threadMountNamespace returns the inode of this thread's mount namespace.
func threadMountNamespace() (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/mnt", &st); err != nil {
		return 0, fmt.Errorf("setup: stat /proc/thread-self/ns/mnt: %w", err)
	}
	return st.Ino, nil
}

// owner is a host uid and gid.
type owner struct {
	UID, GID int
}

// actAs makes this thread create files as the container's root would: its
// filesystem uid and gid become owner's, so new files belong to it and
// filesystems of the container's user namespace (its tmpfs, devpts) accept
// them (they refuse an owner they cannot map: EOVERFLOW). Leaving fsuid 0
// drops the filesystem capabilities from the effective set; they are
// raised again, as this thread still works for the runtime (bind sources
// on the host, for one).
func actAs(o *owner) error {
	unix.Setfsgid(o.GID)
	unix.Setfsuid(o.UID)
	if got, _ := unix.SetfsuidRetUid(-1); got != o.UID {
		return fmt.Errorf("setup: setfsuid %d did not take (fsuid %d)", o.UID, got)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("setup: capget: %w", err)
	}
	for i := range data {
		data[i].Effective = data[i].Permitted
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("setup: restore capabilities after setfsuid: %w", err)
	}
	return nil
}

// createHooks runs prestart and createRuntime hooks in the runtime
// namespace, then createContainer hooks in the container's namespaces,
// before pivot_root (runtime-spec config.md#createcontainer-hooks).
func (s *initSetup) createHooks() error {
	h := s.cfg.Hooks
	if !h.HasCreateHooks() {
		return nil
	}
	state := s.c.hookState(Creating)
	return elsewhere(func() error {
		if err := hooks.RunIn("prestart", h.Prestart, state, s.c.hostLauncher()); err != nil {
			return &hookError{err}
		}
		if err := hooks.RunIn("createRuntime", h.CreateRuntime, state, s.c.hostLauncher()); err != nil {
			return &hookError{err}
		}
		if err := hooks.RunIn("createContainer", h.CreateContainer, state, inContainer(s.cfg, s.p.pid, s.p.pidfd, hookPlace{}, s.c.childSlack)); err != nil {
			return &hookError{err}
		}
		return nil
	})
}

// chrootThread confines this thread to the rootfs of a container without a
// mount namespace, so that what follows (console, user lookup) sees the
// container's files, as the init will after its own chroot.
func chrootThread(root string) error {
	if err := unix.Chroot(root); err != nil {
		return fmt.Errorf("rootfs: chroot %s: %w", root, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("rootfs: chdir /: %w", err)
	}
	return nil
}

func setupNames(cfg *configs.Config) error {
	if h := cfg.Hostname; h != "" {
		if err := unix.Sethostname([]byte(h)); err != nil {
			return fmt.Errorf("hostname %q: %w", h, err)
		}
	}
	if d := cfg.Domainname; d != "" {
		if err := unix.Setdomainname([]byte(d)); err != nil {
			return fmt.Errorf("domainname %q: %w", d, err)
		}
	}
	return nil
}

// setupSysctl has the init write linux.sysctl through its private procfs:
// the kernel applies a write to the namespaces of the writer, and some
// values (net.ipv4.ping_group_range) are read in its user namespace, so
// the writer must be the container's root, not this process.
func (s *initSetup) setupSysctl() error {
	for k, v := range s.cfg.Sysctl {
		// Keys come as "net.ipv4.ip_forward" or, when a part has dots
		// (eth0.100), already in slash form.
		path := "sys/" + k
		if !strings.Contains(k, "/") {
			path = "sys/" + strings.ReplaceAll(k, ".", "/")
		}
		if err := s.conn.WriteProc(path, v); err != nil {
			return fmt.Errorf("linux.sysctl[%q]: %w", k, err)
		}
	}
	return nil
}

// execPlan works out the init's last steps. It runs after pivot_root, so
// s.root is the container's root.
func (s *initSetup) execPlan(console *os.File) (*nsenter.ExecPlan, error) {
	proc := s.proc
	plan := &nsenter.ExecPlan{
		Root:         s.root,
		Fifo:         s.fifo,
		Console:      console,
		PreservedFDs: s.opts.PreserveFDs,
	}
	if !s.opts.NoNewKeyring {
		plan.SessionKeyring = "_ses." + s.c.id
	}
	p := s.cfg.Process
	if p == nil {
		// Allowed at create; `start` will fail (runtime-spec: start MUST
		// generate an error when process is not set).
		plan.Cwd = "/"
		return plan, nil
	}
	if p.OOMScoreAdj != nil {
		path := strconv.Itoa(s.p.pid) + "/oom_score_adj"
		if err := proc.WriteFile(path, []byte(strconv.Itoa(*p.OOMScoreAdj))); err != nil {
			return plan, fmt.Errorf("process.oomScoreAdj: %w", err)
		}
	}
	image := rootfs.FS(s.root, proc)
	uid, gid, groups := p.User.UID, p.User.GID, p.User.AdditionalGids
	if p.User.Username != "" {
		var err error
		if uid, gid, groups, err = lookupUsername(image, p.User.Username, groups); err != nil {
			return plan, fmt.Errorf("process.user.username: %w", err)
		}
	}
	caps, err := capabilities.ToSets(p.Capabilities, s.lastCap)
	if err != nil {
		return plan, err
	}
	plan.HasProcess = true
	plan.NoNewPrivileges = p.NoNewPrivileges
	plan.UID, plan.GID, plan.AdditionalGids = uid, gid, groups
	plan.Umask = p.User.Umask
	plan.Caps = nsenter.CapSets(caps)
	plan.LastCap = s.lastCap
	for _, l := range p.Rlimits {
		plan.Rlimits = append(plan.Rlimits, nsenter.Rlimit{Type: l.Type, Soft: l.Soft, Hard: l.Hard})
	}
	plan.Cwd = p.Cwd
	plan.Args = p.Args
	plan.Env = withHome(image, dedupEnv(p.Env), uid)
	s.creds = &nsenter.ExecCreds{
		UID: uid, GID: gid, AdditionalGids: groups,
		Caps: plan.Caps, LastCap: s.lastCap, NoNewPrivileges: p.NoNewPrivileges,
	}
	return plan, nil
}
