// execmode.h: exec mode's last steps after the bootstrap (execmode.c):
// chroot, fork, rlimits, umask, credentials, cwd and the execve. See
// doc.go.

#ifndef HUSK_EXECMODE_H
#define HUSK_EXECMODE_H

#include "init.h"

// Exit status of exec mode when the bootstrap itself fails, as a shell
// reports a command it could not run.
#define EXEC_MODE_FAILED 127

// What _HUSK_CHROOT, _HUSK_EXEC_CREDS, _HUSK_EXEC_RLIMITS,
// _HUSK_EXEC_UMASK and _HUSK_EXEC_CWD ask for.
struct exec_request {
	const char *chroot; // NULL keeps the root
	int has_creds;
	int no_new_privs;
	struct creds creds;
	int procfd; // a procfs opened before the joins; -1 without creds
	uint32_t n_rlimits;
	struct plan_rlimit *rlimits;
	int has_umask;
	uint32_t umask;
	const char *cwd; // NULL keeps the cwd ("/" after a chroot)
};

// exec_request_parse checks and reads the variables; it dies on invalid
// ones, before the bootstrap has done anything.
void exec_request_parse(const struct failer *f, struct exec_request *r);
// exec_request_open sets the rlimits and opens what the request needs from
// the host, before any namespace is joined.
void exec_request_open(const struct failer *f, struct exec_request *r);
// exec_request_run enters the root, forks if asked, sets the umask, takes
// on the credentials, enters the cwd and execs argv[1]
// with argv[2..] as its argv.
__attribute__((noreturn))
void exec_request_run(const struct failer *f, const struct exec_request *r, int fork,
		      int argc, char **argv);

#endif
