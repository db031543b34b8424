package main

import (
	"fmt"
	goruntime "runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// forkExec starts argv with a real fork (clone without CLONE_VM), unlike
// syscall.ForkExec, which shares the parent's memory until execve
// (CLONE_VM|CLONE_VFORK). This matters for ru_maxrss only: execve records
// the high-water mark of the mm it leaves, and a forked mm starts with just
// the pages fork copies (anonymous and written private ones), not the
// parent's mapped text, so the floor under the child's maxrss is lower.
// The child inherits fds 0-2 and whatever else is not close-on-exec.
func forkExec(argv, env []string) (int, error) {
	path, err := syscall.BytePtrFromString(argv[0])
	if err != nil {
		return 0, fmt.Errorf("argv[0]: %w", err)
	}
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return 0, fmt.Errorf("argv: %w", err)
	}
	envp, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return 0, fmt.Errorf("env: %w", err)
	}
	// The signal mask is per thread: block, fork and restore on one.
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	var all, old unix.Sigset_t
	for i := range all.Val {
		all.Val[i] = ^uint64(0)
	}
	pid, errno := rawForkExec(path, &argvp[0], &envp[0], &all, &old)
	if errno != 0 {
		return 0, fmt.Errorf("fork: %w", errno)
	}
	return int(pid), nil
}

// rawForkExec forks with every signal blocked, so that no Go signal handler
// runs in the single-threaded child, which only restores the mask and
// executes (execve keeps the mask, so it must be restored first). It must
// not grow the stack or call into the runtime: the child's copy of the Go
// runtime is not usable.
//
//go:nosplit
//go:norace
func rawForkExec(path *byte, argv, env **byte, all, old *unix.Sigset_t) (uintptr, syscall.Errno) {
	const sigsetSize = unsafe.Sizeof(unix.Sigset_t{}.Val[0])
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(all)), uintptr(unsafe.Pointer(old)), sigsetSize, 0, 0)
	pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno == 0 && pid == 0 {
		syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(old)), 0, sigsetSize, 0, 0)
		syscall.RawSyscall(syscall.SYS_EXECVE, uintptr(unsafe.Pointer(path)), uintptr(unsafe.Pointer(argv)), uintptr(unsafe.Pointer(env)))
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 127, 0, 0)
	}
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(old)), 0, sigsetSize, 0, 0)
	return pid, errno
}
