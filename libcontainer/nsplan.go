package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/huskrt/husk/libcontainer/configs"
	"github.com/huskrt/husk/libcontainer/nsenter"
	"golang.org/x/sys/unix"
)

// nsPlan says how each namespace of a container comes to be:
//
//   - new namespaces are created by clone(2) flags (cloneFlags) — except
//     when a user namespace is joined: then they must be owned by it and
//     are unshared by the nsenter bootstrap after the join (cUnshare);
//   - joined net, ipc, uts, pid, cgroup and time namespaces are entered by
//     this process on a locked OS thread just before the clone (setns of
//     these is per-thread and allowed in a multithreaded process); the
//     thread is thrown away afterwards;
//   - a new time namespace is unshared by the nsenter bootstrap, which
//     writes its offsets and forks (offsets are writable only by the
//     thread-group leader, before any process enters the namespace);
//   - joined user and mount namespaces can only be entered while single-
//     threaded: the nsenter C bootstrap does it in the new process before
//     the Go runtime starts (cJoins).
type nsPlan struct {
	cloneFlags  uintptr
	threadJoins []nsFile
	timeOffsets map[string]configs.TimeOffset
	cJoins      []*os.File
	cUnshare    uintptr
	cFork       bool
}

type nsFile struct {
	t configs.NamespaceType
	f *os.File
}

var errNsType = errors.New("wrong namespace type")

// openNsPath opens a namespace file and checks it is of the wanted type.
func openNsPath(ns configs.Namespace) (*os.File, error) {
	f, err := os.OpenFile(ns.Path, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("linux.namespaces: %s path: %w", ns.Type, err)
	}
	got, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_NSTYPE)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("linux.namespaces: %s path %s is not a namespace file: %w", ns.Type, ns.Path, err)
	}
	if uintptr(got) != ns.Type.CloneFlag() {
		f.Close()
		return nil, fmt.Errorf("linux.namespaces: %s path %s: %w", ns.Type, ns.Path, errNsType)
	}
	return f, nil
}

func planNamespaces(cfg *configs.Config) (*nsPlan, error) {
	plan := &nsPlan{timeOffsets: cfg.TimeOffsets}
	var newFlags uintptr
	newTime := false
	joined := map[configs.NamespaceType]*os.File{}
	for _, t := range configs.AllNamespaceTypes() {
		ns, ok := cfg.Namespace(t)
		switch {
		case !ok:
		case ns.Path == "" && t == configs.NEWTIME:
			newTime = true
		case ns.Path == "":
			newFlags |= t.CloneFlag()
		default:
			f, err := openNsPath(ns)
			if err != nil {
				for _, open := range joined {
					open.Close()
				}
				return nil, err
			}
			joined[t] = f
		}
	}
	joinUser := joined[configs.NEWUSER] != nil
	// The bootstrap must fork when the init has to be a child of the
	// process that entered a pid or time namespace: a new time namespace
	// (its offsets are writable only by the thread-group leader, before
	// anyone is in it), a joined time namespace (setns refuses a
	// multithreaded caller), or a new pid namespace owned by a joined user
	// namespace.
	fork := newTime || joined[configs.NEWTIME] != nil || (joinUser && newFlags&unix.CLONE_NEWPID != 0)
	if fork && !joinUser && newFlags&unix.CLONE_NEWUSER != 0 && joined[configs.NEWPID] != nil {
		// The bootstrap would join the pid namespace from inside the new
		// user namespace, which has no rights over it.
		for _, f := range joined {
			f.Close()
		}
		return nil, errors.New("linux.namespaces: a joined pid namespace with a new user namespace and a time namespace is not supported yet")
	}
	switch {
	case joinUser:
		// New namespaces must belong to the joined user namespace: the
		// bootstrap unshares them after the join.
		plan.cUnshare = newFlags
	case fork:
		// The forked grandchild must be pid 1 of a new pid namespace, so
		// the bootstrap creates that one too.
		plan.cloneFlags = newFlags &^ unix.CLONE_NEWPID
		plan.cUnshare = newFlags & unix.CLONE_NEWPID
	default:
		plan.cloneFlags = newFlags
	}
	if newTime {
		plan.cUnshare |= unix.CLONE_NEWTIME
	}
	plan.cFork = fork
	// A pid namespace joined in the bootstrap before its fork keeps the
	// intermediate in husk's pid namespace, so the pid it reports is a
	// host pid; joined on a thread of this process, the intermediate
	// would be inside it and report its inner pid.
	cTypes := []configs.NamespaceType{configs.NEWUSER, configs.NEWTIME, configs.NEWNS}
	if fork {
		cTypes = []configs.NamespaceType{configs.NEWUSER, configs.NEWPID, configs.NEWTIME, configs.NEWNS}
	}
	for _, t := range cTypes {
		if f := joined[t]; f != nil {
			plan.cJoins = append(plan.cJoins, f)
			delete(joined, t)
		}
	}
	for _, t := range configs.AllNamespaceTypes() {
		if f := joined[t]; f != nil {
			plan.threadJoins = append(plan.threadJoins, nsFile{t: t, f: f})
		}
	}
	return plan, nil
}

// nsenterEnv is the environment for the nsenter bootstrap (nil when it
// is not needed); the join fds will be at base, base+1, ... in the child.
func (p *nsPlan) nsenterEnv(syncFd, base int) []string {
	if len(p.cJoins) == 0 && p.cUnshare == 0 {
		return nil
	}
	req := nsenter.Request{SyncFD: syncFd, Unshare: p.cUnshare, Fork: p.cFork}
	for i := range p.cJoins {
		req.JoinFDs = append(req.JoinFDs, base+i)
	}
	if p.cUnshare&unix.CLONE_NEWTIME != 0 && len(p.timeOffsets) > 0 {
		req.TimeOffsets = nsenter.FormatTimeOffsets(p.timeOffsets)
	}
	return req.Env()
}

// run calls spawn, which starts the child. When namespaces must be joined
// from this side, it does so on a dedicated, locked OS thread that forks
// the child and is then discarded (never unlocked), so no other goroutine
// ever runs in the changed namespaces.
func (p *nsPlan) run(spawn func() error) error {
	if len(p.threadJoins) == 0 {
		return spawn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread exits with this goroutine.
		errc <- p.runOnThisThread(spawn)
	}()
	return <-errc
}

func (p *nsPlan) runOnThisThread(spawn func() error) error {
	for _, j := range p.threadJoins {
		if err := unix.Setns(int(j.f.Fd()), int(j.t.CloneFlag())); err != nil {
			return fmt.Errorf("join %s namespace: %w", j.t, err)
		}
	}
	return spawn()
}

func (p *nsPlan) close() {
	for _, j := range p.threadJoins {
		j.f.Close()
	}
	for _, f := range p.cJoins {
		f.Close()
	}
}
