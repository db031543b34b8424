// Package capabilities switches the calling thread from root to a container
// workload's user and Linux capability sets, and names capability numbers.
//
// Apply is meant for the last moments of the container's init process: the
// goroutine must be locked to its OS thread (runtime.LockOSThread) and exec
// the workload from that same thread, because bounding, effective,
// permitted, inheritable and ambient sets are per-thread kernel state, and
// so is the supplementary group list set here. Other threads of the Go
// runtime keep (part of) the old credentials until execve(2) discards them.
//
// Do not use Apply in a long-running process that keeps going afterwards:
// it leaves the process with threads holding different credentials. For
// reading or converting capability names from a runtime-spec config, use
// package specconv; Name, Number and Names here exist for error messages
// and for the "features" command.
package capabilities
