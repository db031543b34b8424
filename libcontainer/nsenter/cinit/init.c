// init.c: the container init's main loop. It never returns: the parent
// (Go) prepares the container, asking init for the mounts that only a
// process in the container's namespaces can make (FrameMount) and for the
// procfs writes that must come from inside them (FrameWrite), then sends
// the exec plan (FrameExec), which exec.c carries out.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <unistd.h>

#include "init.h"

// The new mount API. The syscall numbers are the same on every
// architecture; glibc before 2.36 has neither wrappers nor constants.
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 0x00000001
#endif
#ifndef MOUNT_ATTR_NOSUID
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#endif
#define HUSK_FSCONFIG_CMD_CREATE 6 // an enum in <sys/mount.h>, absent before 2.36
#ifndef SYS_openat2
#define SYS_openat2 437
#endif

// PROC_ROOT_INO: the root directory of every procfs instance.
#define PROC_ROOT_INO 1

// is_proc_root reports whether fd is the root directory of a procfs, so
// that a tmpfs or a bind of some procfs subdirectory at /proc is refused.
int is_proc_root(int fd)
{
	struct statfs sfs;
	struct stat st;

	return fstatfs(fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC &&
	       fstat(fd, &st) == 0 && st.st_ino == PROC_ROOT_INO && S_ISDIR(st.st_mode);
}

// new_procfs makes a procfs instance of init's own pid namespace and keeps
// it detached: nothing can be mounted over its files, and no one else can
// reach it. It needs CAP_SYS_ADMIN over that pid namespace.
static int new_procfs(void)
{
	int fsfd = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
	int mntfd = -1;

	if (fsfd < 0)
		return -1;
	if (syscall(SYS_fsconfig, fsfd, HUSK_FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		mntfd = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC,
				     MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	close(fsfd);
	return mntfd;
}

// open_procfs returns init's private procfs or, where a new one cannot be
// made (a user namespace that shares its parent's pid namespace), the
// /proc of the moment: the parent has not touched the mounts yet.
static int open_procfs(struct init_ctx *ctx)
{
	int fd = new_procfs();

	if (fd >= 0 && is_proc_root(fd))
		return fd;
	if (fd >= 0)
		close(fd);
	fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die(&ctx->fail, errno, "init: open /proc");
	if (!is_proc_root(fd))
		die(&ctx->fail, 0, "init: /proc is not the root of a procfs");
	return fd;
}

// reply sends an answer frame; a parent that is gone cannot be told
// anything, so init just ends.
static void reply(struct init_ctx *ctx, int ok, int err, const char *msg)
{
	int r = ok ? frame_send(ctx->syncfd, FRAME_OK, NULL, 0)
		   : frame_send_error(ctx->syncfd, err, msg);
	if (r < 0)
		_exit(1);
}

// handle_mount mounts onto the target fd the parent opened in our mount
// namespace. The target is named through the private procfs, which is
// init's cwd (see init_main), so neither /proc nor the root of the moment
// decides where the mount lands. A failing mount(2) is answered and init
// carries on, since the parent may retry differently; a malformed request
// is fatal. Frame.go tells the two apart by the "mount " prefix.
static void handle_mount(struct init_ctx *ctx, struct frame *f)
{
	struct cursor c = {.p = f->payload, .left = f->len};
	uint64_t flags = take_u64(&c);
	const char *source = take_str(&c);
	const char *fstype = take_str(&c);
	const char *data = take_str(&c);
	char target[64];

	if (c.bad || c.left != 0 || f->nfds != 1)
		die(&ctx->fail, 0, "init: malformed mount request (%u bytes, %d fds)",
		    f->len, f->nfds);
	snprintf(target, sizeof(target), "thread-self/fd/%d", f->fds[0]);
	// Empty data is NULL, as golang.org/x/sys/unix.Mount passes it: some
	// filesystems treat "" and no options differently on remount.
	if (mount(source, target, fstype, (unsigned long)flags, data[0] != '\0' ? data : NULL) == 0) {
		reply(ctx, 1, 0, NULL);
		return;
	}
	int err = errno;
	char msg[1024], text[128];
	snprintf(msg, sizeof(msg), "mount %s \"%s\" (flags %#llx, data \"%s\"): %s", fstype,
		 source, (unsigned long long)flags, data, errno_text(err, 1, text, sizeof(text)));
	reply(ctx, 0, err, msg);
}

// proc_path_ok reports whether path names something below the procfs
// root: not empty, not absolute, no ".." component.
static int proc_path_ok(const char *path)
{
	if (path[0] == '\0' || path[0] == '/')
		return 0;
	for (const char *p = path; *p != '\0';) {
		const char *end = strchrnul(p, '/');
		if (end - p == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		p = *end != '\0' ? end + 1 : end;
	}
	return 1;
}

// open_in_proc opens path below procfd for writing. Besides O_NOFOLLOW
// for the last component, openat2 refuses procfs magic links on the way
// (self/root, self/cwd, self/fd/N), which would lead out of the procfs;
// plain symlinks such as "self" still work. Kernels before 5.6 have no
// openat2: there the ".." check and O_NOFOLLOW are all.
static int open_in_proc(int procfd, const char *path)
{
	int flags = O_WRONLY | O_CLOEXEC | O_NOFOLLOW;
	struct open_how how = {
		.flags = (uint64_t)flags,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, procfd, path, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS)
		fd = openat(procfd, path, flags);
	return fd;
}

// handle_write writes a value to a file of the private procfs, for the
// parent: a sysctl such as net.ipv4.ping_group_range converts ids in the
// user namespace of the writer, so it must be written from inside the
// container's, by its root. The value goes in one write(2): a sysctl
// takes its whole value from the first write. Every failure of the write
// itself is answered and init carries on; a malformed request is fatal.
static void handle_write(struct init_ctx *ctx, struct frame *f)
{
	struct cursor c = {.p = f->payload, .left = f->len};
	const char *path = take_str(&c);
	const char *value = take_str(&c);
	char msg[1024], text[128];
	int err = 0;

	if (c.bad || c.left != 0 || f->nfds != 0)
		die(&ctx->fail, 0, "init: malformed write request (%u bytes, %d fds)",
		    f->len, f->nfds);
	if (!proc_path_ok(path)) {
		snprintf(msg, sizeof(msg), "write /proc: path \"%s\" is not relative or has \"..\": %s",
			 path, errno_text(EINVAL, 1, text, sizeof(text)));
		reply(ctx, 0, EINVAL, msg);
		return;
	}
	size_t len = strlen(value);
	int fd = open_in_proc(ctx->procfd, path);
	if (fd < 0) {
		err = errno;
	} else {
		ssize_t n = write(fd, value, len);
		if (n < 0)
			err = errno;
		close(fd);
		if (n >= 0 && (size_t)n != len) {
			snprintf(msg, sizeof(msg), "write /proc/%s: wrote %zd of %zu bytes", path, n, len);
			reply(ctx, 0, 0, msg);
			return;
		}
	}
	if (err == 0) {
		reply(ctx, 1, 0, NULL);
		return;
	}
	snprintf(msg, sizeof(msg), "write /proc/%s: %s", path, errno_text(err, 1, text, sizeof(text)));
	reply(ctx, 0, err, msg);
}

// exit_by_signal ends init with the status a shell gives a process that
// signal sig killed.
static void exit_by_signal(int sig)
{
	_exit(128 + sig);
}

// catch_fatal_signals makes every signal whose default action ends a
// process end init. As pid 1 of its pid namespace, init gets no default
// action for any signal but SIGKILL and SIGSTOP, so `husk kill` of a
// created container (init waits on exec.fifo) would do nothing. execve
// resets caught signals to their default, so the workload starts as if
// nothing was caught. musl refuses the signals it reserves (32 to 34).
static void catch_fatal_signals(void)
{
	struct sigaction sa = {.sa_handler = exit_by_signal};

	sigfillset(&sa.sa_mask);
	for (int sig = 1; sig < 32; sig++) {
		switch (sig) {
		case SIGKILL: case SIGSTOP: // cannot be caught
		case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH: // ignored
		case SIGTSTP: case SIGTTIN: case SIGTTOU: // stop
			continue;
		}
		sigaction(sig, &sa, NULL);
	}
	for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		sigaction(sig, &sa, NULL);
}

void init_main(int syncfd)
{
	struct init_ctx ctx = {
		.fail = {.fd = syncfd, .style = FAIL_FRAME, .status = 1, .go_texts = 1},
		.syncfd = syncfd,
	};

	catch_fatal_signals();
	// Inherited without close-on-exec; no hook or workload may get it.
	if (fcntl(syncfd, F_SETFD, FD_CLOEXEC) < 0)
		die(&ctx.fail, errno, "init: sync socket fd %d", syncfd);
	ctx.procfd = open_procfs(&ctx);
	// Mount targets are given relative to the cwd, so living in the
	// private procfs makes "thread-self/fd/N" mean our fd N whatever
	// the parent does to the mount tree (pivot_root included). The
	// exec plan moves the cwd into the container first thing.
	if (fchdir(ctx.procfd) < 0)
		die(&ctx.fail, errno, "init: chdir to procfs");
	// "Started": every namespace join of the bootstrap is done, so the
	// parent may now join our mount namespace by pidfd without racing
	// the bootstrap into the one we came from.
	reply(&ctx, 1, 0, NULL);
	for (;;) {
		struct frame f;
		int r = frame_recv(syncfd, &f);

		if (r == 0)
			_exit(1); // the parent gave up on us
		if (r < 0)
			die(&ctx.fail, errno, "init: read request");
		if (f.type == FRAME_MOUNT || f.type == FRAME_WRITE) {
			if (f.type == FRAME_MOUNT)
				handle_mount(&ctx, &f);
			else
				handle_write(&ctx, &f);
			frame_free(&f);
			continue;
		}
		if (f.type != FRAME_EXEC)
			die(&ctx.fail, 0, "init: unexpected frame type %u", f.type);
		struct exec_plan plan;
		const char *why = NULL;
		int err = plan_decode(&f, &plan, &why);
		if (err != 0)
			die(&ctx.fail, err, "init: exec plan: %s", why);
		plan_run(&ctx, &plan);
	}
}
