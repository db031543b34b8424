// Package hooks runs OCI lifecycle hooks (runtime-spec config.md, "POSIX
// platform hooks"): each hook's program gets its args and exactly its env,
// reads the container state JSON on stdin, and must finish, successfully,
// within its timeout.
//
// The caller decides where and when a list runs (runtime namespace or
// container namespace, before or after start) and what a failure means:
// for prestart, createRuntime, createContainer and startContainer it aborts
// the container; for poststart and poststop the spec only asks for a
// warning. This package just runs one list and reports the first failure.
//
// It is not a general process runner: hooks see only file descriptors 0, 1
// and 2 (fds this process inherited without close-on-exec are closed in
// the hook too), and only the tail of their output is kept.
package hooks
