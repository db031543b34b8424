// caps.c: the credentials step of the exec plan, a port of
// libcontainer/capabilities/apply.go (same order, same messages), which
// exec mode shares. Init (or exec mode, after joining a user namespace)
// runs as root of its user namespace with every capability; this turns it
// into the workload's uid, gids and exactly the planned capability sets.
// The process is single-threaded, so "this thread" is the whole process.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "init.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

// The kernel names, indexed by number; kept in step with
// capabilities/names.go.
static const char *const cap_names[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

// cap_name is Name in capabilities/names.go; buf holds unknown numbers.
static const char *cap_name(int n, char *buf, size_t size)
{
	if (n >= 0 && (size_t)n < sizeof(cap_names) / sizeof(cap_names[0]))
		return cap_names[n];
	snprintf(buf, size, "capability %d", n);
	return buf;
}

static int first_bit(uint64_t mask)
{
	return mask == 0 ? -1 : __builtin_ctzll(mask);
}

// drop_bounding must run while we still have CAP_SETPCAP, i.e. before the
// uid changes.
static void drop_bounding(const struct failer *f, uint64_t keep, int last_cap)
{
	char buf[32];

	for (int c = 0; c <= last_cap; c++) {
		if ((keep & (1ull << c)) != 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			die(f, errno, "capabilities: drop bounding %s", cap_name(c, buf, sizeof(buf)));
	}
}

// setgroups_denied reports whether the user namespace forbids setgroups
// ("deny" in setgroups, as for unprivileged user namespaces). The file is
// read through procfd, a procfs opened earlier: the root and /proc of the
// moment are the container's by now.
static int setgroups_denied(int procfd)
{
	char buf[16] = "";
	int fd = openat(procfd, "thread-self/setgroups", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n >= 4 && strncmp(buf, "deny", 4) == 0 && (n == 4 || buf[4] == '\n');
}

// format_groups renders gids as Go's %v does: "[10 20]".
static void format_groups(char *buf, size_t size, const gid_t *groups, uint32_t n)
{
	size_t len = (size_t)snprintf(buf, size, "[");

	for (uint32_t i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%u", i ? " " : "", groups[i]);
	if (len < size)
		snprintf(buf + len, size - len, "]");
}

// switch_user sets groups, gid and uid, in that order: once the uid is not
// 0 we may lack CAP_SETGID.
static void switch_user(const struct failer *f, int procfd, const struct creds *p)
{
	if (setgroups(p->n_groups, p->groups) < 0) {
		int err = errno;
		// Denied while no group was asked for: nothing we fail to honour.
		if (!(err == EPERM && p->n_groups == 0 && setgroups_denied(procfd))) {
			char list[256];
			format_groups(list, sizeof(list), p->groups, p->n_groups);
			die(f, err, "capabilities: setgroups %s", list);
		}
	}
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		die(f, errno, "capabilities: setresgid %u", p->gid);
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		die(f, errno, "capabilities: setresuid %u", p->uid);
}

// explain_capset names, after a failed capset, the first requested
// capability the kernel cannot have accepted; "" when it finds none.
static void explain_capset(char *buf, size_t size, const struct cap_sets *want)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct cur[2];
	char name[32];
	int c;

	buf[0] = '\0';
	if ((c = first_bit(want->effective & ~want->permitted)) >= 0) {
		snprintf(buf, size, ": effective %s not in permitted set", cap_name(c, name, sizeof(name)));
		return;
	}
	if (syscall(SYS_capget, &hdr, cur) < 0)
		return;
	uint64_t permitted = cur[0].permitted | (uint64_t)cur[1].permitted << 32;
	uint64_t inheritable = cur[0].inheritable | (uint64_t)cur[1].inheritable << 32;
	if ((c = first_bit(want->permitted & ~permitted)) >= 0)
		snprintf(buf, size, ": permitted %s not held by this thread", cap_name(c, name, sizeof(name)));
	else if ((c = first_bit(want->inheritable & ~(want->bounding | inheritable))) >= 0)
		snprintf(buf, size, ": inheritable %s not in bounding set", cap_name(c, name, sizeof(name)));
}

// set_caps replaces the effective, permitted and inheritable sets. The
// version 3 interface takes two 32-bit words per set.
static void set_caps(const struct failer *f, const struct cap_sets *sets)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(sets->effective >> (32 * i));
		data[i].permitted = (uint32_t)(sets->permitted >> (32 * i));
		data[i].inheritable = (uint32_t)(sets->inheritable >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) < 0) {
		int err = errno;
		char why[128];
		explain_capset(why, sizeof(why), sets);
		die(f, err, "capabilities: capset%s", why);
	}
}

// set_ambient makes the ambient set exactly ambient. Each raised capability
// must already be in both the permitted and inheritable sets.
static void set_ambient(const struct failer *f, uint64_t ambient, int last_cap)
{
	char buf[32];

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
		// Kernels before 4.3 have no ambient set: fine unless one
		// was asked for.
		if (errno == EINVAL && ambient == 0)
			return;
		die(f, errno, "capabilities: clear ambient");
	}
	for (int c = 0; c <= last_cap; c++) {
		if ((ambient & (1ull << c)) == 0)
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			die(f, errno, "capabilities: raise ambient %s", cap_name(c, buf, sizeof(buf)));
	}
}

void creds_apply(const struct failer *f, int procfd, const struct creds *p)
{
	int last_cap = (int)p->last_cap;
	// Capabilities the running kernel does not know are skipped, so a
	// config written for a newer kernel still runs.
	uint64_t known = last_cap >= 63 ? ~0ull : (1ull << (last_cap + 1)) - 1;
	struct cap_sets sets = {
		.bounding = p->caps.bounding & known,
		.effective = p->caps.effective & known,
		.permitted = p->caps.permitted & known,
		.inheritable = p->caps.inheritable & known,
		.ambient = p->caps.ambient & known,
	};

	drop_bounding(f, sets.bounding, last_cap);
	// Without keepcaps, leaving uid 0 would empty the permitted set and
	// nothing could be raised afterwards.
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		die(f, errno, "capabilities: set keepcaps");
	switch_user(f, procfd, p);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		die(f, errno, "capabilities: clear keepcaps");
	set_caps(f, &sets);
	set_ambient(f, sets.ambient, last_cap);
}
