// plan.c: decoding a FrameExec payload into struct exec_plan. The layout
// is written by ExecPlan.encode in frame_plan.go; doc.go describes it.

#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"

#define PLAN_KNOWN_FLAGS                                                       \
	(PLAN_HAS_PROCESS | PLAN_NO_NEW_PRIVS | PLAN_JOIN_KEYRING |            \
	 PLAN_UMASK_SET | PLAN_HAS_CONSOLE)

// Bytes each element takes on the wire, to check the counts against the
// payload before anything is allocated for them.
#define WIRE_GROUP 4u
#define WIRE_RLIMIT 24u

// take_strings fills a NULL-terminated array of n strings from c; the
// strings stay in the payload.
static char **take_strings(struct cursor *c, uint32_t n)
{
	char **v = calloc((size_t)n + 1, sizeof(char *));

	if (v == NULL)
		return NULL;
	for (uint32_t i = 0; i < n; i++)
		v[i] = (char *)take_str(c);
	return v;
}

// plan_decode fills p from f and takes f's fds. It returns 0, or an errno
// with *why saying what is wrong (EPROTO for a malformed plan).
int plan_decode(struct frame *f, struct exec_plan *p, const char **why)
{
	struct cursor c = {.p = f->payload, .left = f->len};
	uint32_t n_args, n_env;

	memset(p, 0, sizeof(*p));
	p->flags = take_u32(&c);
	p->creds.uid = take_u32(&c);
	p->creds.gid = take_u32(&c);
	p->umask = take_u32(&c);
	p->creds.last_cap = take_u32(&c);
	p->preserved_fds = take_u32(&c);
	p->creds.n_groups = take_u32(&c);
	p->n_rlimits = take_u32(&c);
	n_args = take_u32(&c);
	n_env = take_u32(&c);
	p->creds.caps.bounding = take_u64(&c);
	p->creds.caps.effective = take_u64(&c);
	p->creds.caps.permitted = take_u64(&c);
	p->creds.caps.inheritable = take_u64(&c);
	p->creds.caps.ambient = take_u64(&c);
	*why = "truncated header";
	if (c.bad)
		return EPROTO;
	*why = "unknown flags";
	if ((p->flags & ~PLAN_KNOWN_FLAGS) != 0)
		return EPROTO;
	*why = "last capability above 63";
	if (p->creds.last_cap > 63)
		return EPROTO;
	// Every string takes at least its NUL: 2 + n_args + n_env bytes.
	*why = "counts larger than the payload";
	if ((uint64_t)p->creds.n_groups * WIRE_GROUP + (uint64_t)p->n_rlimits * WIRE_RLIMIT +
		    (uint64_t)n_args + n_env + 2 > c.left)
		return EPROTO;
	*why = "a process needs args";
	if ((p->flags & PLAN_HAS_PROCESS) != 0 && n_args == 0)
		return EPROTO;

	*why = "allocate";
	p->creds.groups = calloc((size_t)p->creds.n_groups + 1, sizeof(gid_t));
	p->rlimits = calloc((size_t)p->n_rlimits + 1, sizeof(struct plan_rlimit));
	if (p->creds.groups == NULL || p->rlimits == NULL)
		return ENOMEM;
	for (uint32_t i = 0; i < p->creds.n_groups; i++)
		p->creds.groups[i] = take_u32(&c);
	for (uint32_t i = 0; i < p->n_rlimits; i++) {
		p->rlimits[i].resource = take_u32(&c);
		take_u32(&c); // padding of the wire struct
		p->rlimits[i].soft = take_u64(&c);
		p->rlimits[i].hard = take_u64(&c);
	}
	p->session_keyring = take_str(&c);
	p->cwd = take_str(&c);
	p->args = take_strings(&c, n_args);
	p->env = take_strings(&c, n_env);
	if (p->args == NULL || p->env == NULL)
		return ENOMEM;
	*why = "truncated body";
	if (c.bad)
		return EPROTO;
	*why = "bytes after the last string";
	if (c.left != 0)
		return EPROTO;

	int want = (p->flags & PLAN_HAS_CONSOLE) != 0 ? 3 : 2;
	*why = (want == 3) ? "want 3 fds: root, fifo, pty" : "want 2 fds: root, fifo";
	if (f->nfds != want)
		return EPROTO;
	p->root_fd = f->fds[0];
	p->fifo_fd = f->fds[1];
	p->console_fd = want == 3 ? f->fds[2] : -1;
	// The plan owns them now.
	for (int i = 0; i < f->nfds; i++)
		f->fds[i] = -1;
	*why = NULL;
	return 0;
}
