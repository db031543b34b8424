package specconv

import "golang.org/x/sys/unix"

// namedNumber pairs a spec name with the kernel number it stands for.
type namedNumber struct {
	name   string
	number int
}

// capabilityTable lists every capability this build knows, in kernel order.
// It is built on each call so the package holds no mutable tables; callers
// look names up once per container, so the cost does not matter.
func capabilityTable() []namedNumber {
	return []namedNumber{
		{"CAP_CHOWN", unix.CAP_CHOWN},
		{"CAP_DAC_OVERRIDE", unix.CAP_DAC_OVERRIDE},
		{"CAP_DAC_READ_SEARCH", unix.CAP_DAC_READ_SEARCH},
		{"CAP_FOWNER", unix.CAP_FOWNER},
		{"CAP_FSETID", unix.CAP_FSETID},
		{"CAP_KILL", unix.CAP_KILL},
		{"CAP_SETGID", unix.CAP_SETGID},
		{"CAP_SETUID", unix.CAP_SETUID},
		{"CAP_SETPCAP", unix.CAP_SETPCAP},
		{"CAP_LINUX_IMMUTABLE", unix.CAP_LINUX_IMMUTABLE},
		{"CAP_NET_BIND_SERVICE", unix.CAP_NET_BIND_SERVICE},
		{"CAP_NET_BROADCAST", unix.CAP_NET_BROADCAST},
		{"CAP_NET_ADMIN", unix.CAP_NET_ADMIN},
		{"CAP_NET_RAW", unix.CAP_NET_RAW},
		{"CAP_IPC_LOCK", unix.CAP_IPC_LOCK},
		{"CAP_IPC_OWNER", unix.CAP_IPC_OWNER},
		{"CAP_SYS_MODULE", unix.CAP_SYS_MODULE},
		{"CAP_SYS_RAWIO", unix.CAP_SYS_RAWIO},
		{"CAP_SYS_CHROOT", unix.CAP_SYS_CHROOT},
		{"CAP_SYS_PTRACE", unix.CAP_SYS_PTRACE},
		{"CAP_SYS_PACCT", unix.CAP_SYS_PACCT},
		{"CAP_SYS_ADMIN", unix.CAP_SYS_ADMIN},
		{"CAP_SYS_BOOT", unix.CAP_SYS_BOOT},
		{"CAP_SYS_NICE", unix.CAP_SYS_NICE},
		{"CAP_SYS_RESOURCE", unix.CAP_SYS_RESOURCE},
		{"CAP_SYS_TIME", unix.CAP_SYS_TIME},
		{"CAP_SYS_TTY_CONFIG", unix.CAP_SYS_TTY_CONFIG},
		{"CAP_MKNOD", unix.CAP_MKNOD},
		{"CAP_LEASE", unix.CAP_LEASE},
		{"CAP_AUDIT_WRITE", unix.CAP_AUDIT_WRITE},
		{"CAP_AUDIT_CONTROL", unix.CAP_AUDIT_CONTROL},
		{"CAP_SETFCAP", unix.CAP_SETFCAP},
		{"CAP_MAC_OVERRIDE", unix.CAP_MAC_OVERRIDE},
		{"CAP_MAC_ADMIN", unix.CAP_MAC_ADMIN},
		{"CAP_SYSLOG", unix.CAP_SYSLOG},
		{"CAP_WAKE_ALARM", unix.CAP_WAKE_ALARM},
		{"CAP_BLOCK_SUSPEND", unix.CAP_BLOCK_SUSPEND},
		{"CAP_AUDIT_READ", unix.CAP_AUDIT_READ},
		{"CAP_PERFMON", unix.CAP_PERFMON},
		{"CAP_BPF", unix.CAP_BPF},
		{"CAP_CHECKPOINT_RESTORE", unix.CAP_CHECKPOINT_RESTORE},
	}
}

// CapabilityNames returns every capability name known to husk, with the
// "CAP_" prefix, in kernel number order (CAP_CHOWN first).
func CapabilityNames() []string {
	return names(capabilityTable())
}

// CapabilityNumber returns the kernel number of a capability name such as
// "CAP_NET_ADMIN". Names are matched exactly: the runtime-spec uses the
// upper-case, CAP_-prefixed spelling of capabilities(7).
func CapabilityNumber(name string) (int, bool) {
	return lookup(capabilityTable(), name)
}

// rlimitTable lists the Linux resource limits of getrlimit(2).
func rlimitTable() []namedNumber {
	return []namedNumber{
		{"RLIMIT_CPU", unix.RLIMIT_CPU},
		{"RLIMIT_FSIZE", unix.RLIMIT_FSIZE},
		{"RLIMIT_DATA", unix.RLIMIT_DATA},
		{"RLIMIT_STACK", unix.RLIMIT_STACK},
		{"RLIMIT_CORE", unix.RLIMIT_CORE},
		{"RLIMIT_RSS", unix.RLIMIT_RSS},
		{"RLIMIT_NPROC", unix.RLIMIT_NPROC},
		{"RLIMIT_NOFILE", unix.RLIMIT_NOFILE},
		{"RLIMIT_MEMLOCK", unix.RLIMIT_MEMLOCK},
		{"RLIMIT_AS", unix.RLIMIT_AS},
		{"RLIMIT_LOCKS", unix.RLIMIT_LOCKS},
		{"RLIMIT_SIGPENDING", unix.RLIMIT_SIGPENDING},
		{"RLIMIT_MSGQUEUE", unix.RLIMIT_MSGQUEUE},
		{"RLIMIT_NICE", unix.RLIMIT_NICE},
		{"RLIMIT_RTPRIO", unix.RLIMIT_RTPRIO},
		{"RLIMIT_RTTIME", unix.RLIMIT_RTTIME},
	}
}

// RlimitNames returns every rlimit name known to husk ("RLIMIT_CPU", ...)
// in kernel number order.
func RlimitNames() []string {
	return names(rlimitTable())
}

// RlimitNumber returns the RLIMIT_* number of an rlimit name such as
// "RLIMIT_NOFILE".
func RlimitNumber(name string) (int, bool) {
	return lookup(rlimitTable(), name)
}

func names(table []namedNumber) []string {
	out := make([]string, len(table))
	for i, entry := range table {
		out[i] = entry.name
	}
	return out
}

func lookup(table []namedNumber, name string) (int, bool) {
	for _, entry := range table {
		if entry.name == name {
			return entry.number, true
		}
	}
	return 0, false
}
