package hooks

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// maxProbedFD bounds the fd scan when /proc is not available.
const maxProbedFD = 1 << 16

// closedInChild returns an ExtraFiles list that makes the hook start with
// fds 3 and up closed, or nil when there is nothing to close.
//
// Everything Go opens is close-on-exec, but fds we inherited without that
// flag (from a shell, a supervisor, a leaky parent) would otherwise reach
// the hook. A nil entry in os.ProcAttr.Files (which ExtraFiles extends)
// means "closed in the new process", so nil entries up to the highest such
// fd close them all in the child, without touching our own fds.
func closedInChild() ([]*os.File, error) {
	highest, err := highestInheritableFD()
	if err != nil {
		return nil, err
	}
	if highest < 3 {
		return nil, nil
	}
	return make([]*os.File, highest-2), nil
}

// highestInheritableFD returns the highest fd of this process that is not
// close-on-exec, or -1.
func highestInheritableFD() (int, error) {
	candidates, err := openFDs()
	if err != nil {
		return -1, err
	}
	highest := -1
	for _, fd := range candidates {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil {
			// Closed since it was listed (or it was the listing's own fd).
			continue
		}
		if flags&unix.FD_CLOEXEC == 0 && fd > highest {
			highest = fd
		}
	}
	return highest, nil
}

// openFDs lists this process's fds from /proc/self/fd; where /proc is not
// mounted it returns every fd number up to the soft RLIMIT_NOFILE (capped)
// for the caller to probe.
func openFDs() ([]int, error) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err == nil {
		fds := make([]int, 0, len(entries))
		for _, entry := range entries {
			fd, convErr := strconv.Atoi(entry.Name())
			if convErr != nil {
				return nil, fmt.Errorf("list open fds: unexpected entry %q", entry.Name())
			}
			fds = append(fds, fd)
		}
		return fds, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("list open fds: %w", err)
	}
	var limit unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &limit); err != nil {
		return nil, fmt.Errorf("list open fds: getrlimit: %w", err)
	}
	count := min(limit.Cur, maxProbedFD)
	fds := make([]int, count)
	for i := range fds {
		fds[i] = i
	}
	return fds, nil
}
