// init.c: the container init's main loop. It runs from the constructor,
// before the Go runtime exists, and never returns into Go: the parent
// (Go) prepares the container, asking init for the mounts that only a
// process in the container's namespaces can make (FrameMount), then sends
// the exec plan (FrameExec), which exec.c carries out.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <linux/magic.h>
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

// PROC_ROOT_INO: the root directory of every procfs instance.
#define PROC_ROOT_INO 1

// is_proc_root reports whether fd is the root directory of a procfs, so
// that a tmpfs or a bind of some procfs subdirectory at /proc is refused.
static int is_proc_root(int fd)
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

void init_main(int syncfd)
{
	struct init_ctx ctx = {
		.fail = {.fd = syncfd, .style = FAIL_FRAME, .status = 1, .go_texts = 1},
		.syncfd = syncfd,
	};

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
		if (f.type == FRAME_MOUNT) {
			handle_mount(&ctx, &f);
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
