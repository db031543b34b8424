// execmode.c: the end of exec mode, for hooks and `husk exec`. After the
// bootstrap has joined and unshared the namespaces, the program enters
// the container's root (_HUSK_CHROOT), forks if asked, sets the process's
// rlimits (_HUSK_EXEC_RLIMITS) and umask (_HUSK_EXEC_UMASK), takes on its
// credentials (_HUSK_EXEC_CREDS), enters its cwd (_HUSK_EXEC_CWD) the way
// the init's exec plan does, and execs the program. Failures are text on
// stderr, status 127.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "execmode.h"

// The kernel's NGROUPS_MAX: setgroups refuses more.
#define MAX_GROUPS 65536

// The highest umask; umask(2) would silently drop other bits.
#define MAX_UMASK 0777

// A reader of _HUSK_EXEC_CREDS, _HUSK_EXEC_RLIMITS and _HUSK_EXEC_UMASK:
// decimal fields, each followed by one space or by the end of the string.
struct fields {
	const char *p; // NULL once the last field was read
	int bad;
};

// next_field returns the next field, at most max. Anything else makes bad
// set, and the value 0.
static uint64_t next_field(struct fields *fs, uint64_t max)
{
	char *end;

	// strtoull would accept spaces and signs.
	if (fs->bad || fs->p == NULL || *fs->p < '0' || *fs->p > '9') {
		fs->bad = 1;
		return 0;
	}
	errno = 0;
	unsigned long long v = strtoull(fs->p, &end, 10);
	if (errno != 0 || v > max || (*end != ' ' && *end != '\0')) {
		fs->bad = 1;
		return 0;
	}
	fs->p = *end == ' ' ? end + 1 : NULL;
	return v;
}

// parse_creds reads "uid gid nnp lastcap bounding effective permitted
// inheritable ambient ngroups g1 ... gn". An id of 2^32-1 is refused:
// setresuid and setresgid read it as "leave unchanged".
static void parse_creds(const struct failer *f, const char *s, struct exec_request *r)
{
	const uint64_t max_id = UINT32_MAX - 1;
	struct fields fs = {.p = s};
	struct creds *c = &r->creds;

	c->uid = (uint32_t)next_field(&fs, max_id);
	c->gid = (uint32_t)next_field(&fs, max_id);
	r->no_new_privs = (int)next_field(&fs, 1);
	c->last_cap = (uint32_t)next_field(&fs, 63);
	c->caps.bounding = next_field(&fs, UINT64_MAX);
	c->caps.effective = next_field(&fs, UINT64_MAX);
	c->caps.permitted = next_field(&fs, UINT64_MAX);
	c->caps.inheritable = next_field(&fs, UINT64_MAX);
	c->caps.ambient = next_field(&fs, UINT64_MAX);
	c->n_groups = (uint32_t)next_field(&fs, MAX_GROUPS);
	if (fs.bad)
		die(f, 0, "nsenter: invalid _HUSK_EXEC_CREDS \"%s\"", s);
	c->groups = calloc((size_t)c->n_groups + 1, sizeof(gid_t));
	if (c->groups == NULL)
		die(f, errno, "nsenter: _HUSK_EXEC_CREDS: allocate %u groups", c->n_groups);
	for (uint32_t i = 0; i < c->n_groups; i++)
		c->groups[i] = (gid_t)next_field(&fs, max_id);
	// Every field read, and nothing after the last.
	if (fs.bad || fs.p != NULL)
		die(f, 0, "nsenter: invalid _HUSK_EXEC_CREDS \"%s\"", s);
	r->has_creds = 1;
}

// parse_rlimits reads "resource soft hard resource soft hard ...", at
// least one triple. The resource number is the kernel's to judge, as in
// the init's plan: setrlimit fails on an unknown one.
static void parse_rlimits(const struct failer *f, const char *s, struct exec_request *r)
{
	struct fields fs = {.p = s};
	size_t n_fields = 1;

	for (const char *p = s; *p != '\0'; p++)
		n_fields += *p == ' ';
	r->rlimits = calloc(n_fields / 3 + 1, sizeof(*r->rlimits));
	if (r->rlimits == NULL)
		die(f, errno, "nsenter: _HUSK_EXEC_RLIMITS: allocate %zu limits", n_fields / 3);
	// next_field fails on "" and after the last field, so an empty
	// value, a trailing space or a missing limit makes bad set.
	do {
		struct plan_rlimit *l = &r->rlimits[r->n_rlimits++];
		l->resource = (uint32_t)next_field(&fs, INT32_MAX);
		l->soft = next_field(&fs, UINT64_MAX);
		l->hard = next_field(&fs, UINT64_MAX);
	} while (!fs.bad && fs.p != NULL && r->n_rlimits < n_fields / 3);
	if (fs.bad || fs.p != NULL)
		die(f, 0, "nsenter: invalid _HUSK_EXEC_RLIMITS \"%s\"", s);
}

static void parse_umask(const struct failer *f, const char *s, struct exec_request *r)
{
	struct fields fs = {.p = s};

	r->umask = (uint32_t)next_field(&fs, MAX_UMASK);
	if (fs.bad || fs.p != NULL)
		die(f, 0, "nsenter: invalid _HUSK_EXEC_UMASK \"%s\"", s);
	r->has_umask = 1;
}

void exec_request_parse(const struct failer *f, struct exec_request *r)
{
	const char *creds = getenv("_HUSK_EXEC_CREDS");
	const char *rlimits = getenv("_HUSK_EXEC_RLIMITS");
	const char *umask_env = getenv("_HUSK_EXEC_UMASK");

	memset(r, 0, sizeof(*r));
	r->procfd = -1;
	r->chroot = getenv("_HUSK_CHROOT");
	// A relative root would depend on the cwd of the moment, which
	// joining a mount namespace changes.
	if (r->chroot != NULL && r->chroot[0] != '/')
		die(f, 0, "nsenter: _HUSK_CHROOT \"%s\" is not an absolute path", r->chroot);
	if (creds != NULL)
		parse_creds(f, creds, r);
	if (rlimits != NULL)
		parse_rlimits(f, rlimits, r);
	if (umask_env != NULL)
		parse_umask(f, umask_env, r);
	r->cwd = getenv("_HUSK_EXEC_CWD");
	// A relative cwd would resolve from wherever the joins and the
	// chroot left the process; the spec requires an absolute one.
	if (r->cwd != NULL && r->cwd[0] != '/')
		die(f, 0, "nsenter: _HUSK_EXEC_CWD \"%s\" is not an absolute path", r->cwd);
}

// The credentials step reads thread-self/setgroups of the user namespace
// joined by then. The procfs is opened now, as for timens_offsets: after a
// mount namespace join, "/proc" would be the container's to choose.
void exec_request_open(const struct failer *f, struct exec_request *r)
{
	// The rlimits are set here, before any namespace is joined: raising
	// a hard limit needs CAP_SYS_RESOURCE in the initial user namespace,
	// which a process that joined the container's user namespace no
	// longer has there (runc's hooks inherit them from its init, which
	// set them before it entered its user namespace). Children inherit
	// them, so a fork below keeps them.
	struct failer step_fail = *f;
	step_fail.prefix = "nsenter: ";
	rlimits_apply(&step_fail, r->rlimits, r->n_rlimits);
	if (!r->has_creds)
		return;
	r->procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->procfd < 0)
		die(f, errno, "nsenter: open /proc");
	if (!is_proc_root(r->procfd))
		die(f, 0, "nsenter: /proc is not the root of a procfs");
}

// fork_and_wait is exec mode's fork (a new pid or time namespace applies to
// children only). The intermediate stays to pass on the exit status, with
// 128+n for death by signal n as a shell does. In the child it returns the
// read end of a pipe whose write end closes with the intermediate.
static int fork_and_wait(const struct failer *f)
{
	int alive[2];
	int status;

	if (pipe2(alive, O_CLOEXEC) < 0)
		die(f, errno, "nsenter: pipe");
	pid_t pid = fork();
	if (pid < 0)
		die(f, errno, "nsenter: fork");
	if (pid == 0) {
		close(alive[1]);
		return alive[0];
	}
	close(alive[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die(f, errno, "nsenter: wait for %d", pid);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

// die_with_intermediate makes the forked child die with the intermediate.
// It runs after the credentials change, which clears the parent death
// signal. The intermediate may have died before the prctl: getppid cannot
// tell in a new pid namespace (it is 0 there), the pipe can.
static void die_with_intermediate(const struct failer *f, int alive)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		die(f, errno, "nsenter: set parent death signal");
	struct pollfd pfd = {.fd = alive, .events = POLLIN};
	if (poll(&pfd, 1, 0) != 0)
		_exit(EXEC_MODE_FAILED);
	close(alive);
}

void exec_request_run(const struct failer *f, const struct exec_request *r, int do_fork,
		      int argc, char **argv)
{
	if (r->chroot != NULL) {
		if (chroot(r->chroot) < 0)
			die(f, errno, "nsenter: chroot %s", r->chroot);
		if (chdir("/") < 0)
			die(f, errno, "nsenter: chdir / in %s", r->chroot);
	}
	int alive = do_fork ? fork_and_wait(f) : -1;
	// The steps shared with the init's exec plan word their messages
	// as the init does ("process.cwd /x: ..."), after exec mode's prefix.
	struct failer step_fail = *f;
	step_fail.prefix = "nsenter: ";
	if (r->has_umask)
		umask((mode_t)r->umask);
	// The cwd as the init enters it: as root first, then (if root was
	// refused) as the user.
	int cwd_refused = r->cwd != NULL ? cwd_try(&step_fail, r->cwd) : 0;
	if (r->has_creds) {
		creds_apply(&step_fail, r->procfd, &r->creds);
		if (r->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			die(f, errno, "nsenter: set no_new_privs");
	}
	if (cwd_refused)
		cwd_enter(&step_fail, r->cwd);
	if (alive >= 0)
		die_with_intermediate(f, alive);
	// argv[1] again when there is no argv[2]: execve with an empty argv
	// is refused by some kernels.
	execve(argv[1], argc > 2 ? argv + 2 : argv + 1, environ);
	die(f, errno, "nsenter: exec %s", argv[1]);
}
