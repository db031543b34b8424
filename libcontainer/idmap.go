package libcontainer

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/huskrt/husk/libcontainer/procfs"
	"golang.org/x/sys/unix"
)

// idRange is one line of a uid_map or gid_map.
type idRange struct {
	inside, outside, count uint64
}

// userNsMaps are the uid and gid maps of a process's user namespace.
type userNsMaps struct {
	uids, gids []idRange
}

// readIDMaps reads the init's /proc/<pid>/{uid,gid}_map through proc.
func readIDMaps(proc *procfs.Handle, pid int) (*userNsMaps, error) {
	var m userNsMaps
	var err error
	if m.uids, err = readIDMap(proc, strconv.Itoa(pid)+"/uid_map"); err != nil {
		return nil, err
	}
	if m.gids, err = readIDMap(proc, strconv.Itoa(pid)+"/gid_map"); err != nil {
		return nil, err
	}
	return &m, nil
}

func readIDMap(proc *procfs.Handle, path string) ([]idRange, error) {
	f, err := proc.Open(path, unix.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("setup: read /proc/%s: %w", path, err)
	}
	var ranges []idRange
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		r, ok := parseIDRange(line)
		if !ok {
			return nil, fmt.Errorf("setup: /proc/%s: bad line %q", path, line)
		}
		ranges = append(ranges, r)
	}
	return ranges, nil
}

// parseIDRange parses one line of a uid_map or gid_map: three unsigned
// decimal numbers separated by spaces. (Not fmt.Sscan: fmt's scanner is
// ~40 KB of binary for this one use.)
func parseIDRange(line string) (idRange, bool) {
	fields := strings.Fields(line)
	if len(fields) != 3 {
		return idRange{}, false
	}
	var nums [3]uint64
	for i, field := range fields {
		n, err := strconv.ParseUint(field, 10, 64)
		if err != nil {
			return idRange{}, false
		}
		nums[i] = n
	}
	return idRange{inside: nums[0], outside: nums[1], count: nums[2]}, true
}

// toHost maps a container uid and gid to host ids, as the kernel would for
// a process of the init's user namespace; an id without a mapping is an
// error (the kernel refuses to chown to it from inside too).
func (m *userNsMaps) toHost(uid, gid uint32) (int, int, error) {
	hu, ok := mapID(m.uids, uid)
	if !ok {
		return 0, 0, fmt.Errorf("uid %d is not mapped in the container's user namespace", uid)
	}
	hg, ok := mapID(m.gids, gid)
	if !ok {
		return 0, 0, fmt.Errorf("gid %d is not mapped in the container's user namespace", gid)
	}
	return hu, hg, nil
}

// root returns the host ids of the init's root, or nil when they are the
// host's root (no user namespace, or an identity mapping).
func (m *userNsMaps) root() *owner {
	uid, uok := mapID(m.uids, 0)
	gid, gok := mapID(m.gids, 0)
	if !uok || !gok || (uid == 0 && gid == 0) {
		return nil
	}
	return &owner{UID: uid, GID: gid}
}

func mapID(ranges []idRange, id uint32) (int, bool) {
	for _, r := range ranges {
		if uint64(id) >= r.inside && uint64(id) < r.inside+r.count {
			return int(r.outside + uint64(id) - r.inside), true
		}
	}
	return 0, false
}
