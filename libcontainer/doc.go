// Package libcontainer creates and manages OCI containers on Linux. It is the
// library behind the husk CLI: every command of the CLI is a thin wrapper
// around the calls here, so a Go program can embed husk without the CLI.
//
// A Root is a state directory (the CLI's --root, /run/husk by default) that
// holds one subdirectory per container; OpenRoot does not create it, the
// first Root.Create does (mode 0700). Root.Create starts a container's init
// in its namespaces and leaves it waiting, status "created";
// Container.Start releases it to exec the workload and runs the poststart
// hooks; Container.Signal, Container.SignalAll, Container.State and
// Container.Destroy work on any container loaded with Root.Load, from any
// process. Start and Destroy take the container's lock and reload its state
// first, so concurrent callers see each other's changes.
// Root.RemoveIncomplete cleans up after a Create whose process died before
// the state was saved. Container.Wait works only in the process that
// created the container.
//
// The process that calls Create must call Init from its main function when
// it is re-executed as "<binary> init" (see InitArg), before doing anything
// else: the container's init is this same binary, re-executed from a sealed
// copy that the container cannot write to. Import
// github.com/huskrt/husk/libcontainer/nsenter into the main package: its C
// constructor makes every init non-dumpable before the Go runtime starts,
// and does the namespace work a multithreaded process cannot: joining user,
// mount and time namespaces, and creating a time namespace or namespaces
// that must belong to a joined user namespace.
//
// Create changes the calling process: it marks every fd from
// 3+CreateOptions.PreserveFDs on close-on-exec (so that no fd of the caller
// reaches a container), and with CreateOptions.Subreaper it makes the
// caller a child subreaper. It also drops, with a warning, the capabilities
// in cfg.Process that the caller's own bounding set lacks.
//
// Containers are described by a configs.Config; package specconv makes one
// from an OCI bundle and refuses settings this package cannot apply. Do not
// use this package to manage containers that another runtime created: the
// state format is husk's own. Do not call Create from a program that relies
// on its own fds being inherited by the children it starts later.
package libcontainer
