// Package nsenter joins user and mount namespaces in a re-executed husk
// process before the Go runtime starts.
//
// setns(2) into a user or mount namespace fails with EINVAL in a
// multithreaded process, and the Go runtime has started threads before any Go
// code runs. Importing this package for its side effect,
//
//	import _ "github.com/huskrt/husk/libcontainer/nsenter"
//
// links a C constructor (nsenter.c) into the binary. It runs from libc's
// start-up code while the process is single-threaded, and does nothing unless
// the environment holds _HUSK_NSENTER=1. Then it, in this order:
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
//     the workload never see them;
//  5. with _HUSK_FORK=1 (required for CLONE_NEWPID and CLONE_NEWTIME, which
//     only apply to children) forks: the parent writes
//     {"type":"pid","pid":N}\n to the _HUSK_SYNCFD socket and exits 0, and
//     the child goes on into the Go runtime. N is the pid in the pid
//     namespace of the process that forked.
//
// Any failure writes one line {"type":"error","msg":"nsenter: ..."}\n to the
// _HUSK_SYNCFD socket (see Message) and exits with status 1 before Go starts.
// The sync fd itself is left open. Request.Env builds the environment.
//
// When _HUSK_NSENTER is not "1" the constructor returns after one getenv and
// leaves the environment, including any other _HUSK_* variable, untouched.
//
// # When not to use this package
//
// Do not import it into anything but the binary that husk re-executes as a
// container init: the constructor runs in every process of a binary that
// links it. Do not use it for namespaces that can be joined from Go on a
// locked OS thread (network, IPC, UTS, PID, cgroup, time); only user and mount
// namespaces need it, plus namespaces that must be created under a joined
// user namespace. It needs cgo: a binary built with CGO_ENABLED=0 silently
// lacks the constructor, so the Go side of the init should treat a still-set
// _HUSK_NSENTER as an error. It does not set supplementary groups, write
// uid/gid maps or create user namespaces.
package nsenter
