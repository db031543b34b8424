// init.h: the container init that runs in C only (init.c), the exec plan
// it receives (plan.c), carries out (exec.c) and the credentials step of
// it (caps.c), which exec mode (execmode.c) shares. See doc.go for the
// protocol.

#ifndef HUSK_INIT_H
#define HUSK_INIT_H

#include <stdint.h>
#include <sys/types.h>

#include "frame.h"

// Bits of exec_plan.flags; ExecPlan in frame_plan.go sets them.
#define PLAN_HAS_PROCESS (1u << 0)
#define PLAN_NO_NEW_PRIVS (1u << 1)
#define PLAN_JOIN_KEYRING (1u << 2)
#define PLAN_UMASK_SET (1u << 3)
#define PLAN_HAS_CONSOLE (1u << 4)

// Capability sets as bit masks, bit n = capability n.
struct cap_sets {
	uint64_t bounding, effective, permitted, inheritable, ambient;
};

// The user, groups and capabilities a process is to run with.
struct creds {
	uint32_t uid, gid;
	uint32_t last_cap; // the running kernel's highest capability, 0..63
	uint32_t n_groups;
	gid_t *groups;
	struct cap_sets caps;
};

struct plan_rlimit {
	uint32_t resource;
	uint64_t soft, hard;
};

// A decoded FrameExec. The strings point into the frame's payload, the
// arrays are malloc'd; nothing is freed, as the process execs or exits.
struct exec_plan {
	uint32_t flags, umask, preserved_fds, n_rlimits;
	struct creds creds;
	struct plan_rlimit *rlimits;
	const char *session_keyring;
	const char *cwd;
	char **args; // NULL-terminated
	char **env;  // NULL-terminated
	int root_fd, fifo_fd, console_fd; // console_fd -1 without a console
};

// Everything a step needs to report a failure.
struct init_ctx {
	struct failer fail; // FrameError on the sync socket, exit 1
	int syncfd;
	int procfd; // root of init's private procfs
};

__attribute__((noreturn)) void init_main(int syncfd);
int plan_decode(struct frame *f, struct exec_plan *p, const char **why);
__attribute__((noreturn)) void plan_run(struct init_ctx *ctx, struct exec_plan *p);
// creds_apply switches to c; procfd is a procfs root, where it reads
// thread-self/setgroups.
void creds_apply(const struct failer *f, int procfd, const struct creds *c);
int is_proc_root(int fd);
// rlimits_apply calls setrlimit for each of the n limits, in order.
void rlimits_apply(const struct failer *f, const struct plan_rlimit *rlimits, uint32_t n);
// cwd_enter changes into cwd and dies if the result is outside the root;
// cwd_try does the same but returns EACCES or EPERM instead of dying.
void cwd_enter(const struct failer *f, const char *cwd);
int cwd_try(const struct failer *f, const char *cwd);

#endif
