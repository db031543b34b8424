// execmode.h: exec mode's last steps after the bootstrap (execmode.c):
// chroot, fork, credentials and the execve. See doc.go.

#ifndef HUSK_EXECMODE_H
#define HUSK_EXECMODE_H

#include "init.h"

// Exit status of exec mode when the bootstrap itself fails, as a shell
// reports a command it could not run.
#define EXEC_MODE_FAILED 127

// What _HUSK_CHROOT and _HUSK_EXEC_CREDS ask for.
struct exec_request {
	const char *chroot; // NULL keeps the root
	int has_creds;
	int no_new_privs;
	struct creds creds;
	int procfd; // a procfs opened before the joins; -1 without creds
};

// exec_request_parse checks and reads the variables; it dies on invalid
// ones, before the bootstrap has done anything.
void exec_request_parse(const struct failer *f, struct exec_request *r);
// exec_request_open opens what the request needs from the host before any
// namespace is joined.
void exec_request_open(const struct failer *f, struct exec_request *r);
// exec_request_run enters the root, forks if asked, takes on the
// credentials and execs argv[1] with argv[2..] as its argv.
__attribute__((noreturn))
void exec_request_run(const struct failer *f, const struct exec_request *r, int fork,
		      int argc, char **argv);

#endif
