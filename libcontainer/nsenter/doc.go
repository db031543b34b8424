// Package nsenter is the C half of husk's process model, "Go prepares, C
// finishes": husk-init, a small static C program (cinit/*.c, built by make
// with musl and embedded here), and the Go API the parent uses to start it
// and talk to it (SealedInit, Request, Conn, ExecPlan).
//
// setns(2) into a user or mount namespace fails with EINVAL in a
// multithreaded process, and a Go process always is one; and booting a Go
// runtime inside every container only to exec the workload is slow. So the
// container's init, and the helper that runs hooks inside a container, are
// this C program instead. husk executes it from a sealed memfd
// (SealedInit): nothing can write to it, and husk's own binary never runs
// inside a container. It does up to three things, selected by the
// environment. Started neither as an init (_HUSK_INITSYNC) nor in exec
// mode (_HUSK_NSENTER=1 and _HUSK_EXEC), it prints a usage line and exits
// 1 before it joins, unshares or forks anything. Exec'd from an inherited
// fd (/proc/self/fd/N) rather than a close-on-exec one, it is told N in
// _HUSK_PROGRAM_FD and closes it before anything else (an invalid or
// closed N is an error: exit 1, or 127 in exec mode).
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
//  4. removes every _HUSK_* variable above (and those of exec mode) with
//     unsetenv, so anything exec'd never sees them;
//  5. with _HUSK_FORK=1 (required for CLONE_NEWPID and CLONE_NEWTIME, which
//     only apply to children) forks: the parent sends a FramePid with the
//     child's pid (in the pid namespace of the process that forked) on the
//     _HUSK_SYNCFD socket and exits 0; the child goes on once that frame is
//     written.
//
// Any failure sends a FrameError ("nsenter: ...", the errno's text as
// strerror(3) has it) on the _HUSK_SYNCFD socket and exits with status 1;
// without a valid _HUSK_SYNCFD the message goes to stderr as
// "husk: nsenter: ...\n". Request.Env builds the environment. Then the
// process becomes the init or, in exec mode, execs the program.
//
// # Exec mode (_HUSK_NSENTER=1 and _HUSK_EXEC=1)
//
// For hooks and `husk exec`: after the bootstrap the program execve()s
// argv[1] with argv[2:] as its argv (argv[1] again if there is no argv[2])
// and the cleaned environment. _HUSK_SYNCFD is optional; failures are text
// on stderr, "husk: nsenter: ...\n", with exit status 127. Between the
// bootstrap and the execve, in this order (steps 3, 4 and 6 give a
// startContainer hook what runc's give it: runc runs them from its init
// once that has set the workload's rlimits, umask and cwd):
//
//  1. _HUSK_CHROOT=<absolute path> (Request.Chroot): chroot(path), resolved
//     after the joins, and chdir("/"); a relative path is refused. For a
//     container without a mount namespace, whose init chroots into the
//     rootfs.
//  2. _HUSK_FORK=1: fork. The intermediate process does not report a pid:
//     it waits for its child and exits with its exit status, or 128+n if
//     signal n killed it. The rest happens in the child.
//  3. _HUSK_EXEC_RLIMITS (Request.Rlimits): decimal "resource soft hard"
//     triples separated by single spaces (resource at most 2^31-1, an
//     unknown one fails setrlimit; uint64 limits, RLIM_INFINITY is
//     18446744073709551615), set in order with setrlimit. Unlike the other
//     steps they are set first, BEFORE the bootstrap joins any namespace:
//     raising a hard limit needs CAP_SYS_RESOURCE in the initial user
//     namespace, lost once the container's is joined (runc's hooks inherit
//     them from an init that set them before it entered its user
//     namespace); the fork inherits them. Messages are the init's,
//     "nsenter: process.rlimits: type 7 (soft 10, hard 5): Invalid
//     argument".
//  4. _HUSK_EXEC_UMASK (Request.Umask): umask(value), decimal, at most
//     511 (0777).
//  5. _HUSK_EXEC_CREDS (Request.Creds, formatted by ExecCreds.String):
//     decimal fields separated by single spaces, "uid gid nnp lastcap
//     bounding effective permitted inheritable ambient ngroups g1 ... gn"
//     (nnp 0 or 1, lastcap 0..63, the five capability sets as uint64
//     masks, bit n = capability n; a uid or gid of 2^32-1 is refused). They
//     are applied as the init applies its exec plan's (caps.c): bounding
//     set, keepcaps, setgroups (where the user namespace denies setgroups,
//     an empty list is fine: the "deny" is read through the /proc opened
//     before the joins), setresgid, setresuid, capset, ambient set, then
//     no_new_privs if nnp is 1. Messages are "nsenter: capabilities: ...".
//  6. _HUSK_EXEC_CWD=<absolute path> (Request.Cwd): chdir(path), inside
//     the chroot if any, as the user of step 5, so a directory the user
//     may not enter is an error; then, as the init does, the cwd must
//     read back (getcwd(2)) as a path starting with "/", or a leaked
//     directory fd was entered (CVE-2024-21626). Messages are the
//     init's, "nsenter: process.cwd /x: No such file or directory".
//  7. With a fork: PR_SET_PDEATHSIG(SIGKILL), set only now because a
//     credentials change clears it, and exit 127 if the intermediate is
//     already gone.
//
// Malformed values (an empty one, a sign, a second space, a missing or
// extra field, a relative path) are refused before the joins.
// _HUSK_CHROOT, _HUSK_EXEC_CREDS, _HUSK_EXEC_RLIMITS, _HUSK_EXEC_UMASK and
// _HUSK_EXEC_CWD are refused without _HUSK_EXEC: an init gets them with
// its exec plan.
//
// # Container init (_HUSK_INITSYNC=fd)
//
// An init is made non-dumpable and named "husk:init" before anything else
// (exec mode is made non-dumpable too): until it execs, its root, cwd and
// fds are the host's, and /proc/<pid>/{root,fd,exe} must not be reachable
// by anyone sharing its pid namespace. After the bootstrap, if any (in the
// forked child if it forked), the program unsets _HUSK_INITSYNC, marks
// the socket close-on-exec and runs the init (init.c).
//
// The init first catches every signal whose default action ends a
// process (1-31 but SIGKILL, SIGSTOP, SIGCHLD, SIGCONT, SIGURG, SIGWINCH,
// SIGTSTP, SIGTTIN, SIGTTOU; and the real-time signals musl allows, 35-64)
// with a handler that exits 128+n: as pid 1 of its pid namespace it gets
// no default action, and `husk kill` of a created container must end it.
// execve resets caught signals, so the workload starts with the default
// dispositions. It opens a private procfs (a new, detached instance made
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
//   - FrameWrite: write a value to a file of the private procfs, for the
//     sysctls that convert ids in the writer's user namespace (such as
//     net.ipv4.ping_group_range), which root of the container's must
//     write. The path is relative to the procfs root; an empty or
//     absolute path or one with a ".." component is refused (EINVAL).
//     Init opens it with O_NOFOLLOW and without crossing procfs magic
//     links (openat2 RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS, plain openat
//     on kernels without openat2), writes the value in one write(2) and
//     answers FrameOK, or a FrameError "write /proc/<path>: <errno text>"
//     after which init carries on (Conn.WriteProc).
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
// in host byte order followed by len payload bytes, at most 4 MiB (an
// exec plan carries the workload's environment, which may be MBs). File
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
//	FrameWrite (12, parent → init)  strings path, value
//
// # When not to use this package
//
// Use it only to start husk-init and drive it; the program knows nothing
// but the protocol above, and refuses to run without it. A husk built with
// plain `go build` (no cinit/bin/husk-init in place) has no init:
// SealedInit returns ErrNoInit. The bootstrap is for namespaces a thread of
// a Go process cannot join (user, mount, time) and for namespaces that must
// be created under a joined user namespace; network, IPC, UTS, PID and
// cgroup namespaces are joined from Go on a locked OS thread. The program
// writes no uid/gid maps and creates no user namespace; the init creates
// no directories, resolves no user names, runs no hooks and sets up
// nothing the parent can set up itself.
package nsenter
