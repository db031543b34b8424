// Package capabilities names Linux capability numbers, finds the running
// kernel's last capability and turns a config's five capability sets into
// the bit masks the container's init applies.
//
// It changes no credentials itself: the init (C code in package nsenter)
// applies the masks right before it execs the workload, because capability
// sets are per-thread state that only a single-threaded process can set
// for good. For reading or converting capability names from a runtime-spec
// config, use package specconv; Name, Number and Names here exist for error
// messages and for the "features" command.
package capabilities
