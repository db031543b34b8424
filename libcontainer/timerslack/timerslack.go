// Package timerslack lets a short-lived runtime process relax the timer
// slack of its own threads (prctl(2) PR_SET_TIMERSLACK) while the processes
// it starts keep the value it was started with.
//
// Why: while a Go process is busy, the runtime's monitor thread (sysmon)
// sleeps 20 µs at a time; with Linux's default slack of 50 µs that is a
// wake-up every ≈ 100 µs, each a nanosleep, a timer and two context
// switches. Over a `husk run` that is ≈ 55 wake-ups and ≈ 0.4 ms of CPU on
// a VM (docs/performance.md). With 1 ms of slack the kernel batches them.
// The cost is timer precision: time.Sleep, deadlines and the runtime's
// retaking of a P from a blocked system call may fire up to the slack late.
//
// A thread's slack is inherited by the threads and processes it creates,
// so a program that calls Relax must start every child through Do with
// the value Relax returned; otherwise the child (a container, a hook)
// would run with the relaxed slack too.
//
// Do not use this package in a long-running program or one with
// latency-sensitive timers, nor expect it to work without CAP_SYS_NICE:
// the kernel only lets a privileged process set the slack of its other
// threads, and Relax then fails and changes nothing.
package timerslack

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"

	"github.com/huskrt/husk/libcontainer/procfs"
	"golang.org/x/sys/unix"
)

// Get returns the timer slack of the calling OS thread in nanoseconds.
// Call it from a goroutine locked to its thread to mean a particular one.
func Get() (uint64, error) {
	ns, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		return 0, fmt.Errorf("get timer slack: %w", err)
	}
	return uint64(ns), nil
}

// Relax sets the timer slack of every thread of the process to ns and
// returns the slack the calling thread had before: the value the
// process's children should get (see Do). On error no thread is left
// changed. Threads created from a relaxed thread afterwards inherit ns;
// one created from a not yet relaxed thread while Relax runs keeps the
// old value, which only costs the optimisation.
func Relax(ns uint64) (previous uint64, err error) {
	if ns == 0 {
		return 0, errors.New("relax timer slack: 0 would mean the thread's default")
	}
	previous, err = Get()
	if err != nil {
		return 0, err
	}
	// The caller's own /proc, checked to be a writable procfs of its pid
	// namespace: thread ids must be numbered as it numbers them (under
	// an outer pid namespace's /proc, /proc/<our tid> is another process,
	// the host's pid 1 for a caller that is pid 1 of its namespace).
	proc, err := procfs.OpenOwn()
	if err != nil {
		return 0, fmt.Errorf("relax timer slack: %w", err)
	}
	defer proc.Close()
	// The calling thread last: a thread it clones while an earlier write
	// fails would inherit ns and be missed by the rollback.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tids, err := threadIDs(proc, unix.Gettid())
	if err != nil {
		return 0, err
	}
	for i, tid := range tids {
		if err := setThread(proc, tid, ns); err != nil {
			for _, done := range tids[:i] {
				_ = setThread(proc, done, previous)
			}
			return 0, err
		}
	}
	return previous, nil
}

// Do calls start on a goroutine locked to its OS thread, whose slack is
// ns while start runs, so that a process start forks from it with ns.
// start must fork on the calling goroutine (syscall.ForkExec and
// os/exec's Cmd.Start do). The thread's slack is restored afterwards.
// ns == 0 calls start unchanged.
func Do(ns uint64, start func() error) error {
	if ns == 0 {
		return start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old, err := Get()
	if err != nil {
		return err
	}
	if err := set(ns); err != nil {
		return err
	}
	// A failure to restore is not reported: the process start succeeded
	// or failed on its own, and the caller must know which (a started
	// child must be waited for). The thread keeps ns, which is harmless.
	startErr := start()
	_ = set(old)
	return startErr
}

func set(ns uint64) error {
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(ns), 0, 0, 0); err != nil {
		return fmt.Errorf("set timer slack to %d ns: %w", ns, err)
	}
	return nil
}

// threadIDs lists the threads of the calling process, last the one
// whose id is last.
func threadIDs(proc *procfs.Handle, last int) ([]int, error) {
	dir, err := proc.Open("self/task", unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list /proc/self/task: %w", err)
	}
	tids := make([]int, 0, len(names))
	for _, name := range names {
		if tid, err := strconv.Atoi(name); err == nil && tid != last {
			tids = append(tids, tid)
		}
	}
	return append(tids, last), nil
}

// setThread writes a thread's slack through /proc/<tid>/timerslack_ns, the
// only interface for a thread other than the caller. A thread that exited
// meanwhile is not an error.
func setThread(proc *procfs.Handle, tid int, ns uint64) error {
	err := proc.WriteFile(strconv.Itoa(tid)+"/timerslack_ns", []byte(strconv.FormatUint(ns, 10)))
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		return nil
	}
	return err
}
