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
// The container's init is not this program: it is a small static C program
// (package nsenter, embedded into the binary) that Create executes from a
// sealed memfd the container cannot write to. It joins the namespaces a
// multithreaded Go process cannot (user, mount, time), makes the
// filesystems that must belong to the container's namespaces, and finally
// takes the container's credentials and execs the workload; everything
// else Create does from a thread of the calling process that joins the
// init's namespaces. So an embedding program needs no special main and
// starts no second Go runtime; it must be built with `make` (or with
// libcontainer/nsenter/cinit/bin/husk-init in place), as plain `go build`
// cannot compile the C program.
//
// Create changes the calling process: it marks every fd from
// 3+CreateOptions.PreserveFDs on close-on-exec (so that no fd of the caller
// reaches a container), and with CreateOptions.Subreaper it makes the
// caller a child subreaper. It also drops, with a warning, the capabilities
// in cfg.Process that the caller's own bounding set lacks.
//
// Warnings and debug traces go to the Logger given to Root.SetLogger (a
// *slog.Logger will do) and are discarded without one; the package never
// writes to the process's stderr or to a global logger itself.
//
// Containers are described by a configs.Config; package specconv makes one
// from an OCI bundle and refuses settings this package cannot apply. Do not
// use this package to manage containers that another runtime created: the
// state format is husk's own. Do not call Create from a program that relies
// on its own fds being inherited by the children it starts later.
package libcontainer
