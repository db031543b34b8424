// Package libcontainer creates and manages OCI containers on Linux. It is the
// library behind the husk CLI: every command of the CLI is a thin wrapper
// around the calls here, so a Go program can embed husk without the CLI.
//
// A Root is a state directory (the CLI's --root, /run/husk by default) that
// holds one subdirectory per container. Root.Create starts a container's
// init in fresh namespaces and leaves it waiting, status "created";
// Container.Start releases it to exec the workload; Container.Signal,
// Container.State and Container.Destroy work on any container loaded with
// Root.Load, from any process.
//
// The process that calls Create must call Init from its main function when
// it is re-executed as "<binary> init" (see InitArg), before doing anything
// else: the container's init is this same binary, re-executed from a sealed
// copy that the container cannot write to. Import
// github.com/huskrt/husk/libcontainer/nsenter into the main package so that
// namespaces can be joined by path before the Go runtime starts.
//
// Containers are described by a configs.Config; package specconv makes one
// from an OCI bundle. Do not use this package to manage containers that
// another runtime created: the state format is husk's own.
package libcontainer
