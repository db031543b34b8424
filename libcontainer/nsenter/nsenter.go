package nsenter

// The C code lives in the .c files of this directory (see doc.go); cgo
// compiles them all with these flags and links their constructor into every
// binary that imports this package.

/*
#cgo CFLAGS: -Wall -Werror
*/
import "C"

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/huskrt/husk/libcontainer/configs"
)

// Environment variables of the constructor (see doc.go). It reads and then
// removes all of them, so neither the Go side of the child nor anything it
// execs sees them.
const (
	// EnvBootstrap must be "1" for the constructor to do anything.
	EnvBootstrap = "_HUSK_NSENTER"
	// EnvSyncFD is the fd number of a stream socket to the parent.
	EnvSyncFD = "_HUSK_SYNCFD"
	// EnvSetns lists namespace fds ("5,6") to join in that order.
	EnvSetns = "_HUSK_SETNS"
	// EnvUnshare is the decimal CLONE_NEW* flags to unshare after joining.
	EnvUnshare = "_HUSK_UNSHARE"
	// EnvFork "1" makes the constructor fork after unsharing; the parent side
	// reports the child's pid and exits (in exec mode: waits for the child
	// and exits with its status).
	EnvFork = "_HUSK_FORK"
	// EnvTimeOffsets is written as-is to /proc/self/timens_offsets.
	EnvTimeOffsets = "_HUSK_TIMENS_OFFSETS"
	// EnvExec "1" selects exec mode: after the bootstrap the constructor
	// execs argv[1] with argv[2:] as its argv.
	EnvExec = "_HUSK_EXEC"
	// EnvInitSync is the fd number of the sync socket of a container init;
	// with it the constructor runs the init (see doc.go) and never returns.
	// It is not part of Request: a process can be an init without joining
	// anything.
	EnvInitSync = "_HUSK_INITSYNC"
)

// Request is what the parent asks the constructor of the child to do.
type Request struct {
	// SyncFD is the child's fd number of the sync socket, where errors
	// and the pid of a forked child go. Below 0 it is left out, which only
	// exec mode allows (its errors go to stderr).
	SyncFD int
	// JoinFDs are the child's fd numbers of namespaces to join, in order.
	// Put the user namespace first so the others are joined with its rights.
	JoinFDs []int
	// Unshare holds CLONE_NEW* flags for new namespaces, owned by the joined
	// user namespace. CLONE_NEWUSER is refused.
	Unshare uintptr
	// Fork is required when Unshare has CLONE_NEWPID or CLONE_NEWTIME.
	Fork bool
	// TimeOffsets is the timens_offsets text (see FormatTimeOffsets); it
	// needs CLONE_NEWTIME in Unshare.
	TimeOffsets string
	// Exec selects exec mode: the child runs its argv[1] in the namespaces
	// instead of Go code. With Fork, the intermediate process waits for
	// the program and exits with its status instead of reporting its pid.
	Exec bool
}

// Env returns the "NAME=value" entries to add to the child's environment.
func (r *Request) Env() []string {
	env := []string{EnvBootstrap + "=1"}
	if r.SyncFD >= 0 {
		env = append(env, EnvSyncFD+"="+strconv.Itoa(r.SyncFD))
	}
	if len(r.JoinFDs) > 0 {
		fds := make([]string, len(r.JoinFDs))
		for i, fd := range r.JoinFDs {
			fds[i] = strconv.Itoa(fd)
		}
		env = append(env, EnvSetns+"="+strings.Join(fds, ","))
	}
	if r.Unshare != 0 {
		env = append(env, EnvUnshare+"="+strconv.FormatUint(uint64(r.Unshare), 10))
	}
	if r.Fork {
		env = append(env, EnvFork+"=1")
	}
	if r.TimeOffsets != "" {
		env = append(env, EnvTimeOffsets+"="+r.TimeOffsets)
	}
	if r.Exec {
		env = append(env, EnvExec+"=1")
	}
	return env
}

// FormatTimeOffsets renders offsets in the format of
// /proc/<pid>/timens_offsets, one "<clock> <secs> <nanosecs>" line per clock,
// sorted by clock name so the output is stable.
func FormatTimeOffsets(offsets map[string]configs.TimeOffset) string {
	clocks := make([]string, 0, len(offsets))
	for clock := range offsets {
		clocks = append(clocks, clock)
	}
	sort.Strings(clocks)
	var b strings.Builder
	for _, clock := range clocks {
		fmt.Fprintf(&b, "%s %d %d\n", clock, offsets[clock].Secs, offsets[clock].Nanosecs)
	}
	return b.String()
}
