// nsenter.c: the constructor described in doc.go. setns(2) into a user or
// mount namespace needs a single-threaded process, and the Go runtime starts
// threads before any Go code runs, so this runs from libc's start-up code.
// Errors go to the parent as one JSON line on _HUSK_SYNCFD, then _exit(1).

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>
#include <linux/nsfs.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

// The only flags _HUSK_UNSHARE may hold. CLONE_NEWUSER is missing on purpose:
// the new namespaces must be owned by the user namespace joined before.
#define UNSHARE_ALLOWED                                                    \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |        \
	 CLONE_NEWPID | CLONE_NEWCGROUP | CLONE_NEWTIME)

// write_all writes all of buf, retrying short writes and EINTR.
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

// fail writes {"type":"error","msg":"nsenter: <fmt>[: strerror(err)]"}\n to
// syncfd and exits with status 1.
__attribute__((noreturn, format(printf, 3, 4)))
static void fail(int syncfd, int err, const char *fmt, ...)
{
	char msg[512], line[sizeof(msg) * 6 + 64]; // a byte escapes to <= 6
	va_list ap;

	strcpy(msg, "nsenter: ");
	va_start(ap, fmt);
	vsnprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), fmt, ap);
	va_end(ap);
	if (err != 0)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), ": %s",
			 strerror(err));
	// JSON escaping: only '"', '\\' and control characters need it here.
	char *p = line + sprintf(line, "{\"type\":\"error\",\"msg\":\"");
	for (const unsigned char *c = (unsigned char *)msg; *c != '\0'; c++) {
		if (*c == '"' || *c == '\\')
			p += sprintf(p, "\\%c", *c);
		else if (*c < 0x20)
			p += sprintf(p, "\\u%04x", *c);
		else
			*p++ = (char)*c;
	}
	p += sprintf(p, "\"}\n");
	write_all(syncfd, line, (size_t)(p - line));
	_exit(1);
}

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
static void join_namespace(int syncfd, int fd)
{
	int type = ioctl(fd, NS_GET_NSTYPE);

	if (type < 0)
		fail(syncfd, errno, "namespace type of fd %d", fd);
	if (setns(fd, 0) < 0)
		fail(syncfd, errno, "setns %s (fd %d)", ns_name(type), fd);
	close(fd);
	if (type != CLONE_NEWUSER)
		return;
	// gid first, as usual: the uid change is the one that can drop the
	// capabilities a later gid change would need.
	if (setresgid(0, 0, 0) < 0)
		fail(syncfd, errno, "setresgid 0 in joined user namespace");
	if (setresuid(0, 0, 0) < 0)
		fail(syncfd, errno, "setresuid 0 in joined user namespace");
}

// walk_fds checks the fd list ("5,6,7") and, if join is set, joins the
// namespaces in that order.
static void walk_fds(int syncfd, const char *list, int join)
{
	const char *p = list;
	char *end;

	while (list != NULL) {
		long fd = parse_number(p, &end);
		if (fd < 0 || (*end != ',' && *end != '\0'))
			fail(syncfd, 0, "invalid _HUSK_SETNS \"%s\"", list);
		if (join)
			join_namespace(syncfd, (int)fd);
		if (*end == '\0')
			return;
		p = end + 1;
	}
}

// open_timens_offsets opens /proc/self/timens_offsets before any namespace
// is joined: after a mount namespace join, "/proc" would be that
// namespace's, which decides where the write goes (CVE-2025-52881 class).
// The file must be on procfs.
static int open_timens_offsets(int syncfd)
{
	struct statfs sfs;
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		fail(syncfd, errno, "open /proc/self/timens_offsets");
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
		fail(syncfd, 0, "/proc/self/timens_offsets is not on procfs");
	return fd;
}

// write_timens_offsets sets the clock offsets of the time namespace unshared
// for our children; that is only possible before any process is in it.
static void write_timens_offsets(int syncfd, int fd, const char *offsets)
{
	ssize_t len = (ssize_t)strlen(offsets);

	// The kernel parses all offsets from a single write, which either
	// takes everything or fails with errno set.
	if (write(fd, offsets, (size_t)len) != len)
		fail(syncfd, errno, "write /proc/self/timens_offsets");
	close(fd);
}

// fork_and_report forks; the child returns and becomes the container init,
// the parent tells the husk parent the child's pid and exits.
static void fork_and_report(int syncfd)
{
	char line[64];
	pid_t pid = fork();

	if (pid < 0)
		fail(syncfd, errno, "fork");
	if (pid == 0)
		return;
	int n = snprintf(line, sizeof(line), "{\"type\":\"pid\",\"pid\":%d}\n", pid);
	if (write_all(syncfd, line, (size_t)n) < 0) {
		int err = errno;
		// Nobody would know about the child: do not leave it running.
		kill(pid, SIGKILL);
		fail(syncfd, err, "report pid %d", pid);
	}
	_exit(0);
}

__attribute__((constructor)) static void husk_nsenter(void)
{
	// Every container init (it has _HUSK_INITSYNC) stops being dumpable
	// before anything else runs: until it has set up and exec'd, its
	// root, cwd and fds are the host's, and /proc/<pid>/{root,fd,exe}
	// must not be reachable by anyone sharing its pid namespace.
	// Its name in ps is "husk:init", not the number of the fd it was
	// exec'd from (/proc/self/fd/N).
	if (getenv("_HUSK_INITSYNC") != NULL) {
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		prctl(PR_SET_NAME, "husk:init", 0, 0, 0);
	}

	const char *bootstrap = getenv("_HUSK_NSENTER");
	if (bootstrap == NULL || strcmp(bootstrap, "1") != 0)
		return; // not a husk init: cost is one getenv

	const char *syncfd_env = getenv("_HUSK_SYNCFD");
	int syncfd = syncfd_env ? (int)parse_whole(syncfd_env) : -1;
	if (syncfd < 0) // nowhere else to report it
		fail(STDERR_FILENO, 0, "_HUSK_SYNCFD is missing or invalid");

	// Check every request before acting on any of them.
	const char *setns_env = getenv("_HUSK_SETNS");
	walk_fds(syncfd, setns_env, 0);
	const char *unshare_env = getenv("_HUSK_UNSHARE");
	long flags = unshare_env ? parse_whole(unshare_env) : 0;
	if (flags < 0 || (flags & ~(long)UNSHARE_ALLOWED) != 0)
		fail(syncfd, 0, "invalid _HUSK_UNSHARE \"%s\"", unshare_env);
	const char *fork_env = getenv("_HUSK_FORK");
	if (fork_env != NULL && strcmp(fork_env, "1") != 0)
		fail(syncfd, 0, "invalid _HUSK_FORK \"%s\"", fork_env);
	// A process cannot start threads (and the Go runtime needs them) while
	// its new pid or time namespace is only for its children.
	if ((flags & (CLONE_NEWPID | CLONE_NEWTIME)) != 0 && fork_env == NULL)
		fail(syncfd, 0, "CLONE_NEWPID and CLONE_NEWTIME need _HUSK_FORK=1");
	const char *offsets = getenv("_HUSK_TIMENS_OFFSETS");
	if (offsets != NULL && (flags & CLONE_NEWTIME) == 0)
		fail(syncfd, 0, "_HUSK_TIMENS_OFFSETS needs CLONE_NEWTIME");

	int offsets_fd = offsets != NULL ? open_timens_offsets(syncfd) : -1;
	walk_fds(syncfd, setns_env, 1);
	if (flags != 0 && unshare((int)flags) < 0)
		fail(syncfd, errno, "unshare 0x%lx", flags);
	if (offsets != NULL)
		write_timens_offsets(syncfd, offsets_fd, offsets);

	// unsetenv removes the entries from the environ array, which is also
	// where the Go runtime reads its environment from.
	unsetenv("_HUSK_NSENTER");
	unsetenv("_HUSK_SYNCFD");
	unsetenv("_HUSK_SETNS");
	unsetenv("_HUSK_UNSHARE");
	unsetenv("_HUSK_FORK");
	unsetenv("_HUSK_TIMENS_OFFSETS");

	if (fork_env != NULL)
		fork_and_report(syncfd);
}
