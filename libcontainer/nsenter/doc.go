// Package nsenter is the C half of husk's process model, "Go prepares, C
// finishes": a constructor that runs in a re-executed husk process before
// the Go runtime starts, and the Go API (Conn, ExecPlan) the parent uses to
// talk to it.
//
// setns(2) into a user or mount namespace fails with EINVAL in a
// multithreaded process, and the Go runtime has started threads before any
// Go code runs; and booting a second Go runtime inside every container only
// to exec the workload is slow. Importing this package,
//
//	import _ "github.com/huskrt/husk/libcontainer/nsenter"
//
// links a C constructor (nsenter.c) into the binary. It runs from libc's
// start-up code while the process is single-threaded, and does up to three
// things, selected by the environment.
//
// # Bootstrap (_HUSK_NSENTER=1)
//
//  1. joins each namespace fd in _HUSK_SETNS ("5,6,...") with setns(fd, 0)
//     and closes it; after a user namespace it switches to uid and gid 0 of
//     that namespace (an error if 0 is not mapped there);
//  2. unshares the CLONE_NEW* flags in _HUSK_UNSHARE (decimal, no
//     CLONE_NEWUSER), so the new namespaces are owned by the joined user
//     namespace;
//  3. writes _HUSK_TIMENS_OFFSETS to /proc/self/timens_offsets (requires
//     CLONE_NEWTIME in step 2);
//  4. removes every _HUSK_* variable above with unsetenv, so os.Environ and
//     anything exec'd never see them;
//  5. with _HUSK_FORK=1 (required for CLONE_NEWPID and CLONE_NEWTIME, which
//     only apply to children) forks: the parent sends a FramePid with the
//     child's pid (in the pid namespace of the process that forked) on the
//     _HUSK_SYNCFD socket and exits 0; the child goes on once that frame is
//     written.
//
// Any failure sends a FrameError ("nsenter: ...", the errno's text as
// strerror(3) has it) on the _HUSK_SYNCFD socket and exits with status 1
// before Go starts; without a valid _HUSK_SYNCFD the message goes to stderr
// as "husk: nsenter: ...\n". Request.Env builds the environment. Then the
// process returns into Go, unless it is an init or in exec mode.
//
// # Exec mode (_HUSK_NSENTER=1 and _HUSK_EXEC=1)
//
// For hooks and `husk exec`: after the bootstrap the constructor execve()s
// argv[1] with argv[2:] as its argv (argv[1] again if there is no argv[2])
// and the cleaned environment. _HUSK_SYNCFD is optional; failures are text
// on stderr, "husk: nsenter: ...\n", with exit status 127. With _HUSK_FORK=1
// the intermediate process does not report a pid: its child gets
// PR_SET_PDEATHSIG(SIGKILL) and execs, and the intermediate waits for it and
// exits with its exit status, or 128+n if signal n killed it.
//
// # Container init (_HUSK_INITSYNC=fd)
//
// An init is made non-dumpable and named "husk:init" before anything else
// (exec mode is made non-dumpable too): until it execs, its root, cwd and
// fds are the host's, and /proc/<pid>/{root,fd,exe} must not be reachable
// by anyone sharing its pid namespace. After the bootstrap, if any (in the
// forked child if it forked), the constructor unsets _HUSK_INITSYNC, marks
// the socket close-on-exec and runs the init (init.c), which never returns
// into Go. The init opens a private procfs (a new, detached instance made
// with fsopen/fsmount; where that is refused, as in a user namespace
// without its own pid namespace, /proc, checked to be a procfs root), makes
// it its cwd, sends a FrameOK ("started": every namespace of the bootstrap
// is in place, so the parent may now join the init's by pidfd; Conn's
// WaitStarted reads it) and serves the parent's requests on the socket:
//
//   - FrameMount: mount(2) onto the fd the frame carries, named
//     "thread-self/fd/N" relative to the procfs cwd, so neither /proc nor
//     the root of the moment (the parent pivots the root meanwhile) decides
//     where the mount lands. Answer FrameOK, or a FrameError whose message
//     starts with "mount " after which init carries on (Conn.Mount returns
//     the bare errno).
//   - FrameExec: the exec plan (see ExecPlan for the steps). A failing step
//     is a FrameError with the message the Go init used to give
//     ("process.cwd /x: no such file or directory", errno texts spelled as
//     Go's) and exit 1. When every step passed, init checks that exec.fifo
//     can be opened for writing (ENXIO, no reader yet, is fine), answers
//     FrameOK (ready) and closes the socket. It then opens the fifo through
//     the private procfs, blocking until `husk start` opens the read end,
//     writes "0" and execs the workload; the fifo is close-on-exec, so start
//     reads EOF exactly when the workload runs. Errors from here on (no
//     process in the config, a failed execve) are written to the fifo after
//     the "0" and to stderr ("husk init: ..."), and init exits 1.
//
// EOF on the socket before FrameExec makes init exit 1; any other protocol
// error is a FrameError ("init: ...") and exit 1.
//
// # Frames
//
// Every frame, in both directions, is a header {uint32 len; uint32 type}
// in host byte order followed by len payload bytes, at most 1 MiB. File
// descriptors travel as SCM_RIGHTS with the header (the sender passes them
// in the sendmsg that carries it). Integers are host-order and fixed
// width, strings NUL-terminated and concatenated. Payloads:
//
//	FrameOK    (1, init → parent)   empty
//	FrameError (2, init → parent)   int32 errno (0 if none), string message
//	FramePid   (3, init → parent)   int32 pid
//	FrameMount (10, parent → init)  uint64 flags, strings source, fstype,
//	                                data (""=NULL); 1 fd: the target
//	FrameExec  (11, parent → init)  uint32 flags (bit 0 HasProcess, 1
//	                                NoNewPrivileges, 2 JoinSessionKeyring,
//	                                3 UmaskSet, 4 HasConsole), uid, gid,
//	                                umask, lastCap, preservedFDs, nGroups,
//	                                nRlimits, nArgs, nEnv; uint64 bounding,
//	                                effective, permitted, inheritable,
//	                                ambient (bit n = capability n); uint32
//	                                groups[nGroups]; nRlimits × {uint32
//	                                resource, uint32 pad, uint64 soft,
//	                                uint64 hard}; strings sessionKeyring,
//	                                cwd, args..., env...; fds: root, exec
//	                                fifo, pty peer (with HasConsole only)
//
// # When not to use this package
//
// Do not import it into anything but the binary husk re-executes: the
// constructor runs in every process of a binary that links it (it costs
// two getenv calls when none of its variables is set). Do not use the
// bootstrap for namespaces that can be joined from Go on a locked OS thread
// (network, IPC, UTS, PID, cgroup, time); only user and mount namespaces
// need it, plus namespaces that must be created under a joined user
// namespace. It needs cgo: a binary built with CGO_ENABLED=0 silently lacks
// the constructor, so a parent should treat an init that never answers, or
// a child that still sees _HUSK_NSENTER, as such a build. It does not write
// uid/gid maps or create user namespaces; the init does not create
// directories, resolve user names, run hooks, or set up anything the
// parent can set up itself.
package nsenter
