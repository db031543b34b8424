package nsenter

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/huskrt/husk/libcontainer/configs"
)

// Environment variables of husk-init (see doc.go). It reads and then
// removes all of them, so nothing it execs sees them.
const (
	// EnvBootstrap must be "1" for the bootstrap to do anything.
	EnvBootstrap = "_HUSK_NSENTER"
	// EnvSyncFD is the fd number of a stream socket to the parent.
	EnvSyncFD = "_HUSK_SYNCFD"
	// EnvSetns lists namespace fds ("5,6") to join in that order.
	EnvSetns = "_HUSK_SETNS"
	// EnvUnshare is the decimal CLONE_NEW* flags to unshare after joining.
	EnvUnshare = "_HUSK_UNSHARE"
	// EnvFork "1" makes the bootstrap fork after unsharing; the parent side
	// reports the child's pid and exits (in exec mode: waits for the child
	// and exits with its status).
	EnvFork = "_HUSK_FORK"
	// EnvTimeOffsets is written as-is to /proc/self/timens_offsets.
	EnvTimeOffsets = "_HUSK_TIMENS_OFFSETS"
	// EnvExec "1" selects exec mode: after the bootstrap the program
	// execs argv[1] with argv[2:] as its argv.
	EnvExec = "_HUSK_EXEC"
	// EnvChroot is the absolute path exec mode chroots into after the
	// joins (exec mode only).
	EnvChroot = "_HUSK_CHROOT"
	// EnvExecCreds holds the credentials exec mode takes on before it
	// execs (exec mode only), as ExecCreds.String formats them.
	EnvExecCreds = "_HUSK_EXEC_CREDS"
	// EnvExecRlimits holds the rlimits exec mode sets before it takes on
	// the credentials (exec mode only): decimal "resource soft hard"
	// triples separated by single spaces.
	EnvExecRlimits = "_HUSK_EXEC_RLIMITS"
	// EnvExecUmask is the decimal umask exec mode sets (exec mode only),
	// at most 511 (0777).
	EnvExecUmask = "_HUSK_EXEC_UMASK"
	// EnvExecCwd is the absolute path exec mode changes into after it
	// took on the credentials (exec mode only).
	EnvExecCwd = "_HUSK_EXEC_CWD"
	// EnvInitSync is the fd number of the sync socket of a container init;
	// with it the program runs the init (see doc.go) and never returns.
	// It is not part of Request: a process can be an init without joining
	// anything.
	EnvInitSync = "_HUSK_INITSYNC"
	// EnvProgramFD is the number of the inherited fd the program was
	// exec'd from (as /proc/self/fd/N). The program closes it first
	// thing, so nothing it runs inherits it, and unsets the variable.
	EnvProgramFD = "_HUSK_PROGRAM_FD"
)

// Request is what the parent asks husk-init to do.
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
	// Chroot (exec mode only) is the absolute path of the root to run the
	// program in, resolved after the joins: the rootfs of a container
	// without a mount namespace, whose init chroots into it. "" keeps
	// the root.
	Chroot string
	// Creds (exec mode only) are the credentials to run the program with;
	// nil keeps those the bootstrap ends with (root of a joined user
	// namespace, or the caller's). With Fork they apply in the child.
	Creds *ExecCreds
	// Rlimits (exec mode only) are set in order before the credentials
	// change, as the init sets the workload's, so raising a hard limit
	// works as root. An unknown or negative Type fails exec mode.
	Rlimits []Rlimit
	// Umask (exec mode only), at most 0777; nil keeps the inherited one.
	Umask *uint32
	// Cwd (exec mode only) is the absolute path to run the program in,
	// entered as the user of Creds and resolved in Chroot if set, with
	// the init's check that it lies inside the root. "" keeps the cwd:
	// "/" after a Chroot, the caller's otherwise.
	Cwd string
}

// ExecCreds are the user, groups and capabilities of a program run in
// exec mode. They are applied as the init's exec plan applies its own:
// drop from the bounding set, setgroups (an empty list is fine where the
// user namespace denies setgroups), setresgid, setresuid, capset, ambient
// set, then no_new_privs.
type ExecCreds struct {
	// UID and GID may not be 2^32-1, which the kernel reads as "keep".
	UID, GID       uint32
	AdditionalGids []uint32
	Caps           CapSets
	// LastCap is the running kernel's highest capability number (0..63).
	LastCap         int
	NoNewPrivileges bool
}

// String formats c as EnvExecCreds holds it: decimal fields separated by
// single spaces, "uid gid nnp lastcap bounding effective permitted
// inheritable ambient ngroups g1 ... gn".
func (c *ExecCreds) String() string {
	nnp := 0
	if c.NoNewPrivileges {
		nnp = 1
	}
	fields := []string{
		strconv.FormatUint(uint64(c.UID), 10), strconv.FormatUint(uint64(c.GID), 10),
		strconv.Itoa(nnp), strconv.Itoa(c.LastCap),
	}
	for _, set := range []uint64{c.Caps.Bounding, c.Caps.Effective, c.Caps.Permitted, c.Caps.Inheritable, c.Caps.Ambient} {
		fields = append(fields, strconv.FormatUint(set, 10))
	}
	fields = append(fields, strconv.Itoa(len(c.AdditionalGids)))
	for _, g := range c.AdditionalGids {
		fields = append(fields, strconv.FormatUint(uint64(g), 10))
	}
	return strings.Join(fields, " ")
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
	if r.Chroot != "" {
		env = append(env, EnvChroot+"="+r.Chroot)
	}
	if r.Creds != nil {
		env = append(env, EnvExecCreds+"="+r.Creds.String())
	}
	if len(r.Rlimits) > 0 {
		env = append(env, EnvExecRlimits+"="+formatRlimits(r.Rlimits))
	}
	if r.Umask != nil {
		env = append(env, EnvExecUmask+"="+strconv.FormatUint(uint64(*r.Umask), 10))
	}
	if r.Cwd != "" {
		env = append(env, EnvExecCwd+"="+r.Cwd)
	}
	return env
}

// formatRlimits renders limits as EnvExecRlimits holds them.
func formatRlimits(limits []Rlimit) string {
	fields := make([]string, 0, 3*len(limits))
	for _, l := range limits {
		fields = append(fields, strconv.Itoa(l.Type),
			strconv.FormatUint(l.Soft, 10), strconv.FormatUint(l.Hard, 10))
	}
	return strings.Join(fields, " ")
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
