// main.c: husk-init, the small static program husk embeds and executes
// from a sealed memfd (see ../doc.go). setns(2) into a user or mount
// namespace needs a single-threaded process, which a Go program never is,
// and a container init needs no Go runtime: so this is C, built with musl,
// and starts in microseconds. It joins and unshares namespaces (the
// bootstrap), then either execs a program (exec mode, execmode.c) or
// becomes the container init (init.c); it never returns to a caller.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>
#include <linux/nsfs.h>

#include "execmode.h"
#include "frame.h"
#include "init.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

// The only flags _HUSK_UNSHARE may hold. CLONE_NEWUSER is missing on purpose:
// the new namespaces must be owned by the user namespace joined before.
#define UNSHARE_ALLOWED                                                    \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |        \
	 CLONE_NEWPID | CLONE_NEWCGROUP | CLONE_NEWTIME)

// parse_number parses a non-negative decimal at s that fits in an int, and
// stores where it ends in *end. It returns -1 if there is none.
static long parse_number(const char *s, char **end)
{
	unsigned long v;

	if (*s < '0' || *s > '9') // strtoul would accept spaces and signs
		return -1;
	errno = 0;
	v = strtoul(s, end, 10);
	if (errno != 0 || v > INT_MAX)
		return -1;
	return (long)v;
}

// parse_whole is parse_number for a string that must hold only the number.
static long parse_whole(const char *s)
{
	char *end;
	long v = parse_number(s, &end);

	return (v >= 0 && *end == '\0') ? v : -1;
}

// ns_name names a CLONE_NEW* type like /proc/self/ns does.
static const char *ns_name(int type)
{
	return type == CLONE_NEWUSER ? "user" : type == CLONE_NEWNS ? "mnt"
	     : type == CLONE_NEWNET ? "net" : type == CLONE_NEWIPC ? "ipc"
	     : type == CLONE_NEWUTS ? "uts" : type == CLONE_NEWPID ? "pid"
	     : type == CLONE_NEWCGROUP ? "cgroup"
	     : type == CLONE_NEWTIME ? "time" : "unknown";
}

// join_namespace joins the namespace open at fd and closes fd. After joining
// a user namespace it becomes root there (EINVAL if 0 is not mapped).
static void join_namespace(const struct failer *f, int fd)
{
	int type = ioctl(fd, NS_GET_NSTYPE);

	if (type < 0)
		die(f, errno, "nsenter: namespace type of fd %d", fd);
	if (setns(fd, 0) < 0)
		die(f, errno, "nsenter: setns %s (fd %d)", ns_name(type), fd);
	close(fd);
	if (type != CLONE_NEWUSER)
		return;
	// gid first, as usual: the uid change is the one that can drop the
	// capabilities a later gid change would need.
	if (setresgid(0, 0, 0) < 0)
		die(f, errno, "nsenter: setresgid 0 in joined user namespace");
	if (setresuid(0, 0, 0) < 0)
		die(f, errno, "nsenter: setresuid 0 in joined user namespace");
}

// walk_fds checks the fd list ("5,6,7") and, if join is set, joins the
// namespaces in that order.
static void walk_fds(const struct failer *f, const char *list, int join)
{
	const char *p = list;
	char *end;

	while (list != NULL) {
		long fd = parse_number(p, &end);
		if (fd < 0 || (*end != ',' && *end != '\0'))
			die(f, 0, "nsenter: invalid _HUSK_SETNS \"%s\"", list);
		if (join)
			join_namespace(f, (int)fd);
		if (*end == '\0')
			return;
		p = end + 1;
	}
}

// open_timens_offsets opens /proc/self/timens_offsets before any namespace
// is joined: after a mount namespace join, "/proc" would be that
// namespace's, which decides where the write goes (CVE-2025-52881 class).
// The file must be on procfs.
static int open_timens_offsets(const struct failer *f)
{
	struct statfs sfs;
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		die(f, errno, "nsenter: open /proc/self/timens_offsets");
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
		die(f, 0, "nsenter: /proc/self/timens_offsets is not on procfs");
	return fd;
}

// write_timens_offsets sets the clock offsets of the time namespace unshared
// for our children; that is only possible before any process is in it.
static void write_timens_offsets(const struct failer *f, int fd, const char *offsets)
{
	ssize_t len = (ssize_t)strlen(offsets);

	// The kernel parses all offsets from a single write, which either
	// takes everything or fails with errno set.
	if (write(fd, offsets, (size_t)len) != len)
		die(f, errno, "nsenter: write /proc/self/timens_offsets");
	close(fd);
}

// fork_and_report forks; the child returns to become the container init,
// the parent sends the child's pid as a FramePid and exits. The child
// waits until the pid is on the socket, so a frame of its own can never
// arrive before it.
static void fork_and_report(const struct failer *f, int syncfd)
{
	int gate[2];
	char c;

	if (pipe2(gate, O_CLOEXEC) < 0)
		die(f, errno, "nsenter: pipe");
	pid_t pid = fork();
	if (pid < 0)
		die(f, errno, "nsenter: fork");
	if (pid == 0) {
		close(gate[1]);
		while (read(gate[0], &c, 1) < 0 && errno == EINTR)
			; // EOF: the parent has reported us, or is gone
		close(gate[0]);
		return;
	}
	close(gate[0]);
	int32_t wire = pid;
	if (frame_send(syncfd, FRAME_PID, &wire, sizeof(wire)) < 0) {
		int err = errno;
		// Nobody would know about the child: do not leave it running.
		kill(pid, SIGKILL);
		die(f, err, "nsenter: report pid %d", pid);
	}
	_exit(0); // closes gate[1]: the child goes on
}

// bootstrap does what the _HUSK_* variables ask (see doc.go). It returns
// in the process that is to go on: the only one, or the forked child.
static void bootstrap(int argc, char **argv, int is_init)
{
	const char *exec_env = getenv("_HUSK_EXEC");
	int exec_mode = exec_env != NULL;
	// Until the sync fd is known (and always in exec mode) errors are
	// text on stderr.
	struct failer f = {
		.fd = STDERR_FILENO,
		.style = FAIL_TEXT,
		.status = exec_mode ? EXEC_MODE_FAILED : 1,
	};

	if (exec_mode && strcmp(exec_env, "1") != 0)
		die(&f, 0, "nsenter: invalid _HUSK_EXEC \"%s\"", exec_env);
	if (exec_mode && is_init)
		die(&f, 0, "nsenter: _HUSK_EXEC and _HUSK_INITSYNC exclude each other");
	if (exec_mode && argc < 2)
		die(&f, 0, "nsenter: _HUSK_EXEC needs the program as argv[1]");
	const char *syncfd_env = getenv("_HUSK_SYNCFD");
	int syncfd = syncfd_env ? (int)parse_whole(syncfd_env) : -1;
	if (syncfd < 0 && (!exec_mode || syncfd_env != NULL))
		die(&f, 0, "nsenter: _HUSK_SYNCFD is missing or invalid");
	if (!exec_mode) {
		f.fd = syncfd;
		f.style = FAIL_FRAME;
	}

	// Check every request before acting on any of them.
	const char *setns_env = getenv("_HUSK_SETNS");
	walk_fds(&f, setns_env, 0);
	const char *unshare_env = getenv("_HUSK_UNSHARE");
	long flags = unshare_env ? parse_whole(unshare_env) : 0;
	if (flags < 0 || (flags & ~(long)UNSHARE_ALLOWED) != 0)
		die(&f, 0, "nsenter: invalid _HUSK_UNSHARE \"%s\"", unshare_env);
	const char *fork_env = getenv("_HUSK_FORK");
	if (fork_env != NULL && strcmp(fork_env, "1") != 0)
		die(&f, 0, "nsenter: invalid _HUSK_FORK \"%s\"", fork_env);
	// A new pid or time namespace is only for the children of the process
	// that unshares it: the init or the exec'd program must be a child.
	if ((flags & (CLONE_NEWPID | CLONE_NEWTIME)) != 0 && fork_env == NULL)
		die(&f, 0, "nsenter: CLONE_NEWPID and CLONE_NEWTIME need _HUSK_FORK=1");
	const char *offsets = getenv("_HUSK_TIMENS_OFFSETS");
	if (offsets != NULL && (flags & CLONE_NEWTIME) == 0)
		die(&f, 0, "nsenter: _HUSK_TIMENS_OFFSETS needs CLONE_NEWTIME");
	// A root and credentials are for the program exec mode runs; an
	// init gets both with its exec plan.
	if (!exec_mode && (getenv("_HUSK_CHROOT") != NULL || getenv("_HUSK_EXEC_CREDS") != NULL))
		die(&f, 0, "nsenter: _HUSK_CHROOT and _HUSK_EXEC_CREDS need _HUSK_EXEC=1");
	// Likewise the rest of the process: an init gets it with its plan.
	if (!exec_mode && (getenv("_HUSK_EXEC_RLIMITS") != NULL || getenv("_HUSK_EXEC_UMASK") != NULL
			   || getenv("_HUSK_EXEC_CWD") != NULL))
		die(&f, 0, "nsenter: _HUSK_EXEC_RLIMITS, _HUSK_EXEC_UMASK and _HUSK_EXEC_CWD need _HUSK_EXEC=1");
	struct exec_request req;
	exec_request_parse(&f, &req);

	int offsets_fd = offsets != NULL ? open_timens_offsets(&f) : -1;
	exec_request_open(&f, &req);
	walk_fds(&f, setns_env, 1);
	if (flags != 0 && unshare((int)flags) < 0)
		die(&f, errno, "nsenter: unshare 0x%lx", flags);
	if (offsets != NULL)
		write_timens_offsets(&f, offsets_fd, offsets);

	// unsetenv removes the entries from the environ array, which is also
	// where exec mode's execve reads the environment.
	unsetenv("_HUSK_NSENTER");
	unsetenv("_HUSK_SYNCFD");
	unsetenv("_HUSK_SETNS");
	unsetenv("_HUSK_UNSHARE");
	unsetenv("_HUSK_FORK");
	unsetenv("_HUSK_TIMENS_OFFSETS");
	unsetenv("_HUSK_EXEC");
	unsetenv("_HUSK_CHROOT");
	unsetenv("_HUSK_EXEC_CREDS");
	unsetenv("_HUSK_EXEC_RLIMITS");
	unsetenv("_HUSK_EXEC_UMASK");
	unsetenv("_HUSK_EXEC_CWD");

	if (exec_mode)
		exec_request_run(&f, &req, fork_env != NULL, argc, argv);
	if (fork_env != NULL)
		fork_and_report(&f, syncfd);
}

// close_program_fd closes the inherited fd this program was exec'd from
// (_HUSK_PROGRAM_FD), before anything else: neither a hook nor a workload
// may inherit it, and no /proc/<pid>/fd/N may lead to it.
static void close_program_fd(int status)
{
	static const char invalid[] = "husk-init: invalid _HUSK_PROGRAM_FD\n";
	const char *env = getenv("_HUSK_PROGRAM_FD");

	if (env == NULL)
		return;
	long fd = parse_whole(env);
	// 0, 1 and 2 are stdio, never the program.
	if (fd < 3 || close((int)fd) < 0) {
		write_all(STDERR_FILENO, invalid, sizeof(invalid) - 1);
		_exit(status);
	}
	unsetenv("_HUSK_PROGRAM_FD");
}

// become_init runs the container init (init.c) on the sync socket named
// by _HUSK_INITSYNC.
__attribute__((noreturn))
static void become_init(const char *initsync)
{
	static const char by_hand[] = "husk init: must be started by husk, not by hand\n";
	int fd = (int)parse_whole(initsync);

	// 0, 1 and 2 are the workload's stdio, never the socket.
	if (fd < 3) {
		write_all(STDERR_FILENO, by_hand, sizeof(by_hand) - 1);
		_exit(1);
	}
	unsetenv("_HUSK_INITSYNC");
	init_main(fd);
}

int main(int argc, char **argv)
{
	static const char usage[] = "husk-init: this program is run by husk, not by hand\n";
	const char *initsync = getenv("_HUSK_INITSYNC");
	const char *bootstrap_env = getenv("_HUSK_NSENTER");
	int do_bootstrap = bootstrap_env != NULL && strcmp(bootstrap_env, "1") == 0;
	// Exec mode needs the bootstrap; which values _HUSK_EXEC may have is
	// the bootstrap's to check, so that a wrong one gets its message.
	int exec_mode = do_bootstrap && getenv("_HUSK_EXEC") != NULL;

	close_program_fd(exec_mode ? EXEC_MODE_FAILED : 1);

	// Neither an init nor exec mode: nothing may be joined, unshared or
	// forked for a purpose nobody asked for.
	if (initsync == NULL && !exec_mode) {
		write_all(STDERR_FILENO, usage, sizeof(usage) - 1);
		return 1;
	}

	// Every container init (it has _HUSK_INITSYNC), and every process
	// exec mode starts in a container, stops being dumpable before
	// anything else runs: until it execs, its root, cwd and fds are the
	// host's, and /proc/<pid>/{root,fd,exe} must not be reachable by
	// anyone sharing its pid namespace. execve makes the workload
	// dumpable again. An init's name in ps is "husk:init", not the
	// number of the fd it was exec'd from (/proc/self/fd/N).
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (initsync != NULL)
		prctl(PR_SET_NAME, "husk:init", 0, 0, 0);

	if (do_bootstrap)
		bootstrap(argc, argv, initsync != NULL);
	// Exec mode never returns from the bootstrap.
	become_init(initsync);
}
