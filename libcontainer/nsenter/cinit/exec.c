// exec.c: carrying out the exec plan, the last steps of the container init
// (formerly init.go and init_exec.go; the messages are theirs). Until init
// answers the plan, a failure is a FrameError on the sync socket; once it
// has answered, the socket is closed and failures go to exec.fifo (which
// `husk start` reports) and to stderr.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#define HUSK_KEYCTL_JOIN_SESSION_KEYRING 1 // <linux/keyctl.h> may be missing

// enter_root confines init to the container's root. The parent has already
// pivoted into it when there is a mount namespace; the chroot is what
// confines a container without one, and costs nothing otherwise.
static void enter_root(const struct failer *f, int root)
{
	if (fchdir(root) < 0)
		die(f, errno, "rootfs: chdir to the root fd");
	if (chroot(".") < 0)
		die(f, errno, "rootfs: chroot");
	if (chdir("/") < 0)
		die(f, errno, "rootfs: chdir /");
	close(root);
}

static void join_keyring(const struct failer *f, const char *name)
{
	long r = syscall(SYS_keyctl, HUSK_KEYCTL_JOIN_SESSION_KEYRING, name[0] ? name : NULL);
	// No keyrings in this kernel or not allowed here (user namespaces):
	// runc carries on as well.
	if (r < 0 && errno != ENOSYS && errno != EACCES && errno != EPERM && errno != EDQUOT)
		die(f, errno, "init: join session keyring");
}

void rlimits_apply(const struct failer *f, const struct plan_rlimit *rlimits, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct plan_rlimit *l = &rlimits[i];
		struct rlimit rl = {.rlim_cur = l->soft, .rlim_max = l->hard};
		if (setrlimit((int)l->resource, &rl) < 0)
			die(f, errno, "process.rlimits: type %u (soft %llu, hard %llu)", l->resource,
			    (unsigned long long)l->soft, (unsigned long long)l->hard);
	}
}

// setup_console makes the pty peer (opened by the parent through the
// container's devpts master) stdio and the controlling terminal.
static void setup_console(const struct failer *f, int peer)
{
	for (int fd = 0; fd < 3; fd++) {
		// An fd that arrived as 0, 1 or 2 only loses close-on-exec:
		// dup3 refuses to copy an fd onto itself.
		int r = peer == fd ? fcntl(fd, F_SETFD, 0) : dup3(peer, fd, 0);
		if (r < 0)
			die(f, errno, "process.terminal: dup pty to fd %d", fd);
	}
	if (peer > 2)
		close(peer);
	// Only a session leader can take a controlling terminal. Init is one
	// when the runtime started it, but not when the bootstrap forked it.
	if (getsid(0) != getpid() && setsid() < 0)
		die(f, errno, "process.terminal: setsid");
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		die(f, errno, "process.terminal: set controlling tty");
}

// cwd_check makes sure the cwd just entered is inside the root: a leaked
// fd as cwd would show up as a path outside it (CVE-2024-21626). The raw
// getcwd syscall is used because it says "(unreachable)/..." where
// glibc's getcwd only fails.
static void cwd_check(const struct failer *f, const char *cwd)
{
	char wd[PATH_MAX];

	if (syscall(SYS_getcwd, wd, sizeof(wd)) < 0)
		die(f, errno, "process.cwd %s: resolves outside the container (\"\")", cwd);
	if (wd[0] != '/')
		die(f, 0, "process.cwd %s: resolves outside the container (\"%s\")", cwd, wd);
}

// cwd_enter changes into the process's cwd and checks it.
void cwd_enter(const struct failer *f, const char *cwd)
{
	if (chdir(cwd) < 0)
		die(f, errno, "process.cwd %s", cwd);
	cwd_check(f, cwd);
}

// cwd_try is the first attempt, made before the credentials change, as
// runc makes it: root may enter a directory the user may not (the process
// then starts there, without the right to read it). A refusal (EACCES,
// EPERM: root squashed on NFS, say) is returned for a second attempt as
// the user, with cwd_enter; any other error is fatal.
int cwd_try(const struct failer *f, const char *cwd)
{
	if (chdir(cwd) < 0) {
		if (errno == EACCES || errno == EPERM)
			return errno;
		die(f, errno, "process.cwd %s", cwd);
	}
	cwd_check(f, cwd);
	return 0;
}

// executable_error is 0 if path is something execve could run, or why
// not; a directory is EISDIR, as execve's own EACCES would be misleading.
static int executable_error(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno;
	if (S_ISDIR(st.st_mode))
		return EISDIR;
	return access(path, X_OK) < 0 ? errno : 0;
}

// look_path finds file in the workload's PATH (the last PATH= wins, as in
// the environment the workload gets), as init_exec.go's lookPath did. It
// runs after the chdir, so relative entries resolve from the cwd.
static void look_path(const struct failer *f, const char *file, char *const *env,
		      char out[PATH_MAX])
{
	const char *path = "";

	if (strchr(file, '/') != NULL) {
		int err = executable_error(file);
		if (err != 0)
			die(f, err, "process.args[0]: exec %s", file);
		snprintf(out, PATH_MAX, "%s", file);
		return;
	}
	for (char *const *e = env; *e != NULL; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	// An empty PATH has no entries; an empty entry means ".".
	for (const char *dir = path; *path != '\0'; ) {
		const char *end = strchrnul(dir, ':');
		int len = (int)(end - dir);
		while (len > 1 && dir[len - 1] == '/')
			len--; // "/usr/bin/" + "ls" is "/usr/bin/ls"
		const char *sep = (len > 0 && dir[len - 1] == '/') ? "" : "/";
		int n = len == 0 ? snprintf(out, PATH_MAX, "./%s", file)
				 : snprintf(out, PATH_MAX, "%.*s%s%s", len, dir, sep, file);
		if (n < PATH_MAX && executable_error(out) == 0)
			return;
		if (*end == '\0')
			break;
		dir = end + 1;
	}
	die(f, 0, "process.args[0]: exec: \"%s\": executable file not found in $PATH", file);
}

// open_fifo_early opens exec.fifo for writing if `husk start` already has
// it open for reading, and returns -1 if it has not (ENXIO). Any other
// error must fail the create, not a later start. The fifo is reopened
// through the private procfs, so neither the root nor /proc of the moment
// matters, and as the workload's user, after the credentials changed.
static int open_fifo_early(const struct init_ctx *ctx, const char *name)
{
	int fd = openat(ctx->procfd, name, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 && errno == ENXIO)
		return -1;
	if (fd < 0)
		die(&ctx->fail, errno, "init: open exec fifo");
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		die(&ctx->fail, errno, "init: open exec fifo: clear O_NONBLOCK");
	return fd;
}

// late_fail reports a failure once the sync socket is closed: on the fifo
// after the '0' `husk start` waits for, and on stderr.
__attribute__((noreturn, format(printf, 3, 4)))
static void late_fail(int fifo, int err, const char *fmt, ...)
{
	char msg[1024], line[sizeof(msg) + 16];
	va_list ap;

	va_start(ap, fmt);
	format_message(msg, sizeof(msg), err, 1, fmt, ap);
	va_end(ap);
	if (fifo >= 0)
		write_all(fifo, msg, strlen(msg));
	int n = snprintf(line, sizeof(line), "husk init: %s\n", msg);
	write_all(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	_exit(1);
}

// release waits for `husk start`, then execs the workload.
__attribute__((noreturn))
static void release(const struct init_ctx *ctx, const struct exec_plan *p, int fifo,
		    const char *fifo_name, const char *path)
{
	sigset_t sigpipe, saved;

	// A reader that went away must make write fail with EPIPE, not kill
	// init; the mask is restored for the workload, which inherits it.
	sigemptyset(&sigpipe);
	sigaddset(&sigpipe, SIGPIPE);
	sigprocmask(SIG_BLOCK, &sigpipe, &saved);
	while (fifo < 0) {
		// Blocks until `husk start` opens the read end.
		fifo = openat(ctx->procfd, fifo_name, O_WRONLY | O_CLOEXEC);
		if (fifo < 0 && errno != EINTR)
			late_fail(-1, errno, "init: open exec fifo");
	}
	close(p->fifo_fd);
	if (write_all(fifo, "0", 1) < 0)
		late_fail(-1, errno, "init: write exec fifo");
	// Allowed at create; start fails (runtime-spec: start MUST generate
	// an error when process is not set).
	if ((p->flags & PLAN_HAS_PROCESS) == 0)
		late_fail(fifo, 0, "process: not set in config.json; nothing to start");
	sigprocmask(SIG_SETMASK, &saved, NULL);
	// fifo is close-on-exec: `husk start` sees EOF exactly when the
	// workload runs.
	execve(path, p->args, p->env);
	int err = errno;
	sigprocmask(SIG_BLOCK, &sigpipe, NULL);
	late_fail(fifo, err, "exec %s", path);
}

void plan_run(struct init_ctx *ctx, struct exec_plan *p)
{
	const struct failer *f = &ctx->fail;
	int has_process = (p->flags & PLAN_HAS_PROCESS) != 0;
	char path[PATH_MAX] = "";
	char fifo_name[64];

	enter_root(f, p->root_fd);
	if ((p->flags & PLAN_JOIN_KEYRING) != 0)
		join_keyring(f, p->session_keyring);
	// Without a process nothing is exec'd: the steps that only shape
	// the workload are skipped, as the Go init did.
	if (has_process)
		rlimits_apply(f, p->rlimits, p->n_rlimits);
	if (p->console_fd >= 0)
		setup_console(f, p->console_fd);
	if (has_process) {
		// As root first, then (if root was refused) as the user: runc's
		// order.
		int cwd_refused = cwd_try(f, p->cwd);
		creds_apply(f, ctx->procfd, &p->creds);
		umask((p->flags & PLAN_UMASK_SET) != 0 ? (mode_t)p->umask : 022);
		if (cwd_refused)
			cwd_enter(f, p->cwd);
		// After the chdir and as the user: relative paths resolve
		// from the cwd, with the user's permissions.
		look_path(f, p->args[0], p->env, path);
		if ((p->flags & PLAN_NO_NEW_PRIVS) != 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			die(f, errno, "process.noNewPrivileges");
	}
	// Only stdio and the preserved fds may reach the workload.
	if (syscall(SYS_close_range, 3u + p->preserved_fds, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
		die(f, errno, "mark fds close-on-exec");
	snprintf(fifo_name, sizeof(fifo_name), "thread-self/fd/%d", p->fifo_fd);
	int fifo = open_fifo_early(ctx, fifo_name);
	// Ready: the parent may now report the container as created.
	if (frame_send(ctx->syncfd, FRAME_OK, NULL, 0) < 0)
		_exit(1);
	close(ctx->syncfd);
	release(ctx, p, fifo, fifo_name, path);
}
