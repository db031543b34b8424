package capabilities

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// lastKnownCap is the highest capability this package has a name for.
const lastKnownCap = unix.CAP_CHECKPOINT_RESTORE

// Name returns the kernel name of capability n, e.g. "CAP_NET_RAW", or
// "capability 45" for a number this package does not know.
func Name(n int) string {
	switch n {
	case unix.CAP_CHOWN:
		return "CAP_CHOWN"
	case unix.CAP_DAC_OVERRIDE:
		return "CAP_DAC_OVERRIDE"
	case unix.CAP_DAC_READ_SEARCH:
		return "CAP_DAC_READ_SEARCH"
	case unix.CAP_FOWNER:
		return "CAP_FOWNER"
	case unix.CAP_FSETID:
		return "CAP_FSETID"
	case unix.CAP_KILL:
		return "CAP_KILL"
	case unix.CAP_SETGID:
		return "CAP_SETGID"
	case unix.CAP_SETUID:
		return "CAP_SETUID"
	case unix.CAP_SETPCAP:
		return "CAP_SETPCAP"
	case unix.CAP_LINUX_IMMUTABLE:
		return "CAP_LINUX_IMMUTABLE"
	case unix.CAP_NET_BIND_SERVICE:
		return "CAP_NET_BIND_SERVICE"
	case unix.CAP_NET_BROADCAST:
		return "CAP_NET_BROADCAST"
	case unix.CAP_NET_ADMIN:
		return "CAP_NET_ADMIN"
	case unix.CAP_NET_RAW:
		return "CAP_NET_RAW"
	case unix.CAP_IPC_LOCK:
		return "CAP_IPC_LOCK"
	case unix.CAP_IPC_OWNER:
		return "CAP_IPC_OWNER"
	case unix.CAP_SYS_MODULE:
		return "CAP_SYS_MODULE"
	case unix.CAP_SYS_RAWIO:
		return "CAP_SYS_RAWIO"
	case unix.CAP_SYS_CHROOT:
		return "CAP_SYS_CHROOT"
	case unix.CAP_SYS_PTRACE:
		return "CAP_SYS_PTRACE"
	case unix.CAP_SYS_PACCT:
		return "CAP_SYS_PACCT"
	case unix.CAP_SYS_ADMIN:
		return "CAP_SYS_ADMIN"
	case unix.CAP_SYS_BOOT:
		return "CAP_SYS_BOOT"
	case unix.CAP_SYS_NICE:
		return "CAP_SYS_NICE"
	case unix.CAP_SYS_RESOURCE:
		return "CAP_SYS_RESOURCE"
	case unix.CAP_SYS_TIME:
		return "CAP_SYS_TIME"
	case unix.CAP_SYS_TTY_CONFIG:
		return "CAP_SYS_TTY_CONFIG"
	case unix.CAP_MKNOD:
		return "CAP_MKNOD"
	case unix.CAP_LEASE:
		return "CAP_LEASE"
	case unix.CAP_AUDIT_WRITE:
		return "CAP_AUDIT_WRITE"
	case unix.CAP_AUDIT_CONTROL:
		return "CAP_AUDIT_CONTROL"
	case unix.CAP_SETFCAP:
		return "CAP_SETFCAP"
	case unix.CAP_MAC_OVERRIDE:
		return "CAP_MAC_OVERRIDE"
	case unix.CAP_MAC_ADMIN:
		return "CAP_MAC_ADMIN"
	case unix.CAP_SYSLOG:
		return "CAP_SYSLOG"
	case unix.CAP_WAKE_ALARM:
		return "CAP_WAKE_ALARM"
	case unix.CAP_BLOCK_SUSPEND:
		return "CAP_BLOCK_SUSPEND"
	case unix.CAP_AUDIT_READ:
		return "CAP_AUDIT_READ"
	case unix.CAP_PERFMON:
		return "CAP_PERFMON"
	case unix.CAP_BPF:
		return "CAP_BPF"
	case unix.CAP_CHECKPOINT_RESTORE:
		return "CAP_CHECKPOINT_RESTORE"
	}
	return fmt.Sprintf("capability %d", n)
}

// Number returns the number of the capability called name (exactly as the
// kernel spells it, "CAP_" prefix included) and whether it is known.
func Number(name string) (int, bool) {
	for n := 0; n <= lastKnownCap; n++ {
		if Name(n) == name {
			return n, true
		}
	}
	return 0, false
}

// Names returns the names of every capability this package knows, ordered
// by number. The running kernel may know fewer (see LastCap) or more.
func Names() []string {
	names := make([]string, 0, lastKnownCap+1)
	for n := 0; n <= lastKnownCap; n++ {
		names = append(names, Name(n))
	}
	return names
}
