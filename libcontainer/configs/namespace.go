package configs

import "golang.org/x/sys/unix"

// CloneFlag returns the CLONE_NEW* flag of t, or 0 for an unknown type.
func (t NamespaceType) CloneFlag() uintptr {
	flag, _ := t.kind()
	return flag
}

// ProcName returns the name of t's file in /proc/<pid>/ns ("net" for
// "network"), or "" for an unknown type.
func (t NamespaceType) ProcName() string {
	_, name := t.kind()
	return name
}

func (t NamespaceType) kind() (flag uintptr, procName string) {
	switch t {
	case NEWPID:
		return unix.CLONE_NEWPID, "pid"
	case NEWNET:
		return unix.CLONE_NEWNET, "net"
	case NEWNS:
		return unix.CLONE_NEWNS, "mnt"
	case NEWIPC:
		return unix.CLONE_NEWIPC, "ipc"
	case NEWUTS:
		return unix.CLONE_NEWUTS, "uts"
	case NEWUSER:
		return unix.CLONE_NEWUSER, "user"
	case NEWCGROUP:
		return unix.CLONE_NEWCGROUP, "cgroup"
	case NEWTIME:
		return unix.CLONE_NEWTIME, "time"
	}
	return 0, ""
}
