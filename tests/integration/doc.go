// Package integration holds the end-to-end tests of husk: they drive a
// runc-compatible runtime binary through its CLI as root, on the real kernel,
// with real containers built from a busybox rootfs, and check the results from
// inside the container (busybox tools) and from the host.
//
// The runtime under test is HUSK_TEST_RUNTIME (an absolute path, or a name
// looked up in PATH); by default TestMain builds <repo>/husk with
// `make -C <repo> husk`. Running the suite against runc
// (HUSK_TEST_RUNTIME=/usr/sbin/runc) is how the tests themselves are checked:
// a test that runc fails carries a comment saying why.
//
// Every test uses its own state root (--root), unique container ids, and a
// cleanup that deletes its containers and fails the test if anything is left
// behind: state entries, processes, host mounts. Without root the tests skip.
//
// Do not use this package for unit tests of husk's packages: it needs root,
// it is slow compared with them, and it only sees what the CLI shows.
package integration
