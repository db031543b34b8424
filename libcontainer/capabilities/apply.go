package capabilities

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/huskrt/husk/libcontainer/configs"
)

// capSets holds the five sets as bit masks (bit n = capability n).
type capSets struct {
	bounding, effective, permitted, inheritable, ambient uint64
}

// Apply turns the calling thread, running as root (in its user namespace)
// with full capabilities, into the workload's credentials: uid, gid and
// additionalGids, and exactly the capability sets in caps. A nil caps means
// every set is empty, even for uid 0. The inheritable set is empty unless
// configured (CVE-2022-29162).
//
// The calling goroutine must be locked to its OS thread and exec the
// workload from it: capability sets and the supplementary groups are set
// for this thread only (see the package documentation).
//
// Capabilities above the running kernel's last one (LastCap) are skipped,
// so a config written for a newer kernel still runs.
func Apply(caps *configs.Capabilities, uid, gid uint32, additionalGids []uint32) error {
	if caps == nil {
		caps = &configs.Capabilities{}
	}
	lastCap, err := LastCap()
	if err != nil {
		return err
	}
	sets, err := toCapSets(caps, lastCap)
	if err != nil {
		return err
	}
	// The bounding set must shrink while we still are root with
	// CAP_SETPCAP in the effective set.
	if err := dropBounding(sets.bounding, lastCap); err != nil {
		return err
	}
	// Without keepcaps, leaving uid 0 would empty the permitted set and we
	// could not raise anything afterwards.
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("capabilities: set keepcaps: %w", err)
	}
	if err := switchUser(uid, gid, additionalGids); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("capabilities: clear keepcaps: %w", err)
	}
	if err := setCaps(sets); err != nil {
		return err
	}
	return setAmbient(sets.ambient, lastCap)
}

func toCapSets(caps *configs.Capabilities, lastCap int) (capSets, error) {
	var sets capSets
	for _, set := range []struct {
		name string
		caps []int
		mask *uint64
	}{
		{"bounding", caps.Bounding, &sets.bounding},
		{"effective", caps.Effective, &sets.effective},
		{"permitted", caps.Permitted, &sets.permitted},
		{"inheritable", caps.Inheritable, &sets.inheritable},
		{"ambient", caps.Ambient, &sets.ambient},
	} {
		for _, c := range set.caps {
			if c < 0 {
				return capSets{}, fmt.Errorf("capabilities: invalid capability number %d in %s set", c, set.name)
			}
			if c > lastCap {
				continue
			}
			*set.mask |= 1 << uint(c)
		}
	}
	return sets, nil
}

// dropBounding removes from this thread's bounding set every capability
// up to lastCap that is not in keep.
func dropBounding(keep uint64, lastCap int) error {
	for c := 0; c <= lastCap; c++ {
		if keep&(1<<uint(c)) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("capabilities: drop bounding %s: %w", Name(c), err)
		}
	}
	return nil
}

// switchUser sets groups, gid and uid, in that order: once the uid is not 0
// we may lack CAP_SETGID.
//
// Which threads change: unix.Setgroups is a raw setgroups(2) and affects
// only the calling thread. unix.Setresgid and unix.Setresuid forward to
// package syscall, which (since Go 1.16) applies them to every thread of
// the Go runtime with AllThreadsSyscall, or through libc (which does the
// same) in cgo builds. Either way the thread that execs the workload ends
// up with all three, and execve discards the other threads.
func switchUser(uid, gid uint32, additionalGids []uint32) error {
	gids := make([]int, len(additionalGids))
	for i, g := range additionalGids {
		gids[i] = int(g)
	}
	if err := unix.Setgroups(gids); err != nil && !setgroupsDeniedHarmless(err, gids) {
		return fmt.Errorf("capabilities: setgroups %v: %w", additionalGids, err)
	}
	if err := unix.Setresgid(int(gid), int(gid), int(gid)); err != nil {
		return fmt.Errorf("capabilities: setresgid %d: %w", gid, err)
	}
	if err := unix.Setresuid(int(uid), int(uid), int(uid)); err != nil {
		return fmt.Errorf("capabilities: setresuid %d: %w", uid, err)
	}
	return nil
}

// setgroupsDeniedHarmless reports whether a setgroups failure only means
// the user namespace forbids setgroups(2) ("deny" in /proc/self/setgroups,
// as for unprivileged user namespaces) while no group was asked for: the
// user did not request groups, so there is nothing we fail to honour.
func setgroupsDeniedHarmless(err error, gids []int) bool {
	if len(gids) != 0 || !errors.Is(err, unix.EPERM) {
		return false
	}
	policy, readErr := os.ReadFile("/proc/self/setgroups")
	return readErr == nil && strings.TrimSpace(string(policy)) == "deny"
}

// setCaps replaces this thread's effective, permitted and inheritable sets.
func setCaps(sets capSets) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3} // Pid 0: this thread
	var data [maxCapWords]unix.CapUserData
	for i := range data {
		shift := uint(32 * i)
		data[i] = unix.CapUserData{
			Effective:   uint32(sets.effective >> shift),
			Permitted:   uint32(sets.permitted >> shift),
			Inheritable: uint32(sets.inheritable >> shift),
		}
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capabilities: capset%s: %w", explainCapset(sets), err)
	}
	return nil
}

// explainCapset names, after a failed capset, the first requested
// capability the kernel cannot have accepted. It returns "" when it finds
// none; the caller's message then carries the kernel error only.
func explainCapset(want capSets) string {
	if c, ok := firstBit(want.effective &^ want.permitted); ok {
		return fmt.Sprintf(": effective %s not in permitted set", Name(c))
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var cur [maxCapWords]unix.CapUserData
	if err := unix.Capget(&hdr, &cur[0]); err != nil {
		return ""
	}
	permitted := uint64(cur[0].Permitted) | uint64(cur[1].Permitted)<<32
	if c, ok := firstBit(want.permitted &^ permitted); ok {
		return fmt.Sprintf(": permitted %s not held by this thread", Name(c))
	}
	inheritable := uint64(cur[0].Inheritable) | uint64(cur[1].Inheritable)<<32
	if c, ok := firstBit(want.inheritable &^ (want.bounding | inheritable)); ok {
		return fmt.Sprintf(": inheritable %s not in bounding set", Name(c))
	}
	return ""
}

func firstBit(mask uint64) (int, bool) {
	for c := 0; c < 64; c++ {
		if mask&(1<<uint(c)) != 0 {
			return c, true
		}
	}
	return 0, false
}

// setAmbient makes this thread's ambient set exactly ambient. Each raised
// capability must already be in both the permitted and inheritable sets.
func setAmbient(ambient uint64, lastCap int) error {
	err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	if err != nil {
		// Kernels before 4.3 have no ambient set: nothing to clear, and
		// nothing to do unless ambient capabilities were asked for.
		if errors.Is(err, unix.EINVAL) && ambient == 0 {
			return nil
		}
		return fmt.Errorf("capabilities: clear ambient: %w", err)
	}
	for c := 0; c <= lastCap; c++ {
		if ambient&(1<<uint(c)) == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
			return fmt.Errorf("capabilities: raise ambient %s: %w", Name(c), err)
		}
	}
	return nil
}
