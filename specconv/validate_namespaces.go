package specconv

import (
	"errors"
	"github.com/huskrt/husk/libcontainer/configs"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// maxIDMappings is the kernel's limit of lines in /proc/<pid>/uid_map.
const maxIDMappings = 340

// namespaceSet maps each namespace type of the config to its path ("" for
// a namespace the container creates).
type namespaceSet map[specs.LinuxNamespaceType]string

func (s namespaceSet) has(t specs.LinuxNamespaceType) bool {
	_, ok := s[t]
	return ok
}

func (s namespaceSet) isNew(t specs.LinuxNamespaceType) bool {
	path, ok := s[t]
	return ok && path == ""
}

// namespaceKind returns the CLONE_NEW* flag of a namespace type and the
// name of its file in /proc/<pid>/ns.
func namespaceKind(t specs.LinuxNamespaceType) (cloneFlag int, procName string, ok bool) {
	kind := configs.NamespaceType(t)
	return int(kind.CloneFlag()), kind.ProcName(), kind.CloneFlag() != 0
}

// validateNamespaces checks linux.namespaces and returns them as a set.
// husk always sets up the root filesystem in a mount namespace other than
// the runtime's own: doing it in the host's would pivot and remount the
// host's mounts. A joined mount namespace (as runc allows) is set up in
// place, so it must not be the one husk itself runs in.
func validateNamespaces(list []specs.LinuxNamespace) (namespaceSet, *Error) {
	set := make(namespaceSet, len(list))
	for i, ns := range list {
		path := index("linux.namespaces", i)
		cloneFlag, procName, ok := namespaceKind(ns.Type)
		if !ok {
			return nil, fieldError(path+".type", "unknown namespace type %q", ns.Type)
		}
		if set.has(ns.Type) {
			return nil, fieldError(path, "duplicate namespace %q", ns.Type)
		}
		set[ns.Type] = ns.Path
		if ns.Path == "" {
			// Lstat: the entry exists exactly when the kernel has the
			// type, and following the link would make the kernel set up
			// a dentry for the namespace (stat cost ≈ 20 µs each here).
			if _, err := os.Lstat("/proc/self/ns/" + procName); errors.Is(err, fs.ErrNotExist) {
				return nil, causeError(path, err, "%s namespaces are not supported by this kernel", ns.Type)
			}
			continue
		}
		if err := checkNamespaceFile(path+".path", ns.Path, ns.Type, cloneFlag); err != nil {
			return nil, err
		}
		if ns.Type == specs.MountNamespace && sameFile(ns.Path, "/proc/self/ns/mnt") {
			return nil, fieldError(path+".path", "joining the runtime's own mount namespace is not allowed")
		}
	}
	// Without a mount namespace the container shares the runtime's: husk
	// then makes no mount at all and only chroots into the rootfs (runc).
	return set, nil
}

// checkNamespaceFile makes sure a namespace path names a namespace of the
// wanted type. It looks at the filesystem type before opening anything, so
// a wrong path never opens a device node.
func checkNamespaceFile(jsonPath, nsPath string, nsType specs.LinuxNamespaceType, cloneFlag int) *Error {
	if !filepath.IsAbs(nsPath) {
		return fieldError(jsonPath, "must be absolute")
	}
	if strings.IndexByte(nsPath, 0) >= 0 {
		return fieldError(jsonPath, "contains a NUL byte")
	}
	var stat unix.Statfs_t
	if err := unix.Statfs(nsPath, &stat); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return causeError(jsonPath, err, "%s: no such file", showPath(nsPath))
		}
		return causeError(jsonPath, err, "%s: %v", showPath(nsPath), err)
	}
	if stat.Type != unix.NSFS_MAGIC {
		return fieldError(jsonPath, "%s: not a namespace file", showPath(nsPath))
	}
	fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return causeError(jsonPath, err, "%s: %v", showPath(nsPath), err)
	}
	defer unix.Close(fd)
	kind, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil {
		return causeError(jsonPath, err, "%s: get namespace type: %v", showPath(nsPath), err)
	}
	if kind != cloneFlag {
		return fieldError(jsonPath, "%s: not a %s namespace", showPath(nsPath), nsType)
	}
	return nil
}

// validateIDMappings checks the user namespace mappings and that the ids
// the process runs as exist inside the namespace. husk's init runs as root
// inside a new user namespace before it switches to process.user, so uid 0
// and gid 0 must be mapped.
func validateIDMappings(linux *specs.Linux, process *specs.Process, namespaces namespaceSet) *Error {
	uidMaps, gidMaps := linux.UIDMappings, linux.GIDMappings
	if !namespaces.has(specs.UserNamespace) {
		if len(uidMaps) > 0 {
			return fieldError("linux.uidMappings", "mappings without a user namespace")
		}
		if len(gidMaps) > 0 {
			return fieldError("linux.gidMappings", "mappings without a user namespace")
		}
		return nil
	}
	if namespaces.isNew(specs.UserNamespace) {
		if len(uidMaps) == 0 {
			return fieldError("linux.uidMappings", "user namespace without mappings")
		}
		if len(gidMaps) == 0 {
			return fieldError("linux.gidMappings", "user namespace without mappings")
		}
	}
	if err := checkMappings("linux.uidMappings", uidMaps); err != nil {
		return err
	}
	if err := checkMappings("linux.gidMappings", gidMaps); err != nil {
		return err
	}
	if namespaces.isNew(specs.UserNamespace) {
		if !isMapped(uidMaps, 0) {
			return fieldError("linux.uidMappings", "container uid 0 is not mapped")
		}
		if !isMapped(gidMaps, 0) {
			return fieldError("linux.gidMappings", "container gid 0 is not mapped")
		}
	}
	// A joined user namespace may come without mappings in the config;
	// then there is nothing to check against.
	if process == nil {
		return nil
	}
	user := process.User
	// A username is resolved later from the container's /etc/passwd and
	// replaces uid/gid, so only additionalGids are known now.
	if user.Username == "" && len(uidMaps) > 0 && !isMapped(uidMaps, user.UID) {
		return fieldError("process.user.uid", "%d is not mapped in the user namespace", user.UID)
	}
	if user.Username == "" && len(gidMaps) > 0 && !isMapped(gidMaps, user.GID) {
		return fieldError("process.user.gid", "%d is not mapped in the user namespace", user.GID)
	}
	for i, gid := range user.AdditionalGids {
		if len(gidMaps) > 0 && !isMapped(gidMaps, gid) {
			return fieldError(index("process.user.additionalGids", i), "%d is not mapped in the user namespace", gid)
		}
	}
	return nil
}

// checkMappings rejects what the kernel refuses when writing uid_map:
// empty or overflowing ranges, overlapping container ranges, too many lines.
func checkMappings(path string, mappings []specs.LinuxIDMapping) *Error {
	if len(mappings) > maxIDMappings {
		return fieldError(path, "more than %d mappings", maxIDMappings)
	}
	for i, mapping := range mappings {
		entryPath := index(path, i)
		if mapping.Size == 0 {
			return fieldError(entryPath+".size", "must not be zero")
		}
		const idLimit = uint64(1) << 32
		if uint64(mapping.ContainerID)+uint64(mapping.Size) > idLimit ||
			uint64(mapping.HostID)+uint64(mapping.Size) > idLimit {
			return fieldError(entryPath, "range overflows 32-bit ids")
		}
		for j := range i {
			if rangesOverlap(mapping.ContainerID, mappings[j].ContainerID, mapping.Size, mappings[j].Size) ||
				rangesOverlap(mapping.HostID, mappings[j].HostID, mapping.Size, mappings[j].Size) {
				return fieldError(entryPath, "overlaps %s", index(path, j))
			}
		}
	}
	return nil
}

func rangesOverlap(startA, startB, sizeA, sizeB uint32) bool {
	endA, endB := uint64(startA)+uint64(sizeA), uint64(startB)+uint64(sizeB)
	return uint64(startA) < endB && uint64(startB) < endA
}

func isMapped(mappings []specs.LinuxIDMapping, id uint32) bool {
	for _, mapping := range mappings {
		if id >= mapping.ContainerID && uint64(id) < uint64(mapping.ContainerID)+uint64(mapping.Size) {
			return true
		}
	}
	return false
}

// validateTimeOffsets checks linux.timeOffsets: offsets can only be written
// to a time namespace that has no process yet, i.e. a new one.
func validateTimeOffsets(offsets map[string]specs.LinuxTimeOffset, namespaces namespaceSet) *Error {
	if len(offsets) == 0 {
		return nil
	}
	if !namespaces.isNew(specs.TimeNamespace) {
		return fieldError("linux.timeOffsets", "requires a new time namespace")
	}
	for _, clock := range sortedKeys(offsets) {
		path := key("linux.timeOffsets", clock)
		if clock != "monotonic" && clock != "boottime" {
			return fieldError(path, "unknown clock, must be \"monotonic\" or \"boottime\"")
		}
		if offsets[clock].Nanosecs >= 1e9 {
			return fieldError(path+".nanosecs", "must be below 1000000000")
		}
	}
	return nil
}

// ipcSysctls are the kernel.* sysctls that belong to the IPC namespace.
func isIPCSysctl(name string) bool {
	switch name {
	case "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
		"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced":
		return true
	}
	return strings.HasPrefix(name, "fs.mqueue.")
}

// validateSysctl allows only sysctls that are scoped to a namespace the
// container owns, like runc: anything else would change the host.
func validateSysctl(spec *specs.Spec, namespaces namespaceSet) *Error {
	if spec.Linux == nil {
		return nil
	}
	for _, name := range sortedKeys(spec.Linux.Sysctl) {
		path := key("linux.sysctl", name)
		if !validSysctlName(name) {
			return fieldError(path, "invalid sysctl name")
		}
		// "net/ipv4/conf/eth0.100/forwarding" is the slash form of a name
		// whose components contain dots; classify by the dotted form.
		dotted := strings.ReplaceAll(name, "/", ".")
		switch {
		case isIPCSysctl(dotted):
			if !namespaces.isNew(specs.IPCNamespace) {
				return fieldError(path, "requires a new ipc namespace")
			}
		case strings.HasPrefix(dotted, "net."):
			if err := checkNetSysctl(path, namespaces); err != nil {
				return err
			}
		case dotted == "kernel.hostname" || dotted == "kernel.domainname":
			if !namespaces.has(specs.UTSNamespace) {
				return fieldError(path, "requires a uts namespace")
			}
			if dotted == "kernel.hostname" && spec.Hostname != "" {
				return fieldError(path, "conflicts with hostname")
			}
			if dotted == "kernel.domainname" && spec.Domainname != "" {
				return fieldError(path, "conflicts with domainname")
			}
		default:
			return fieldError(path, "not a namespaced sysctl")
		}
	}
	return nil
}

// checkNetSysctl allows net.* in a new network namespace or in a joined one
// that is not the runtime's own (runc makes the same distinction).
func checkNetSysctl(path string, namespaces namespaceSet) *Error {
	nsPath, ok := namespaces[specs.NetworkNamespace]
	if !ok {
		return fieldError(path, "requires a new network namespace")
	}
	if nsPath == "" {
		return nil
	}
	joined, err := os.Stat(nsPath)
	if err != nil {
		return causeError(path, err, "stat network namespace %s: %v", showPath(nsPath), unwrapPathError(err))
	}
	own, err := os.Stat("/proc/self/ns/net")
	if err != nil {
		return causeError(path, err, "stat own network namespace: %v", unwrapPathError(err))
	}
	if os.SameFile(joined, own) {
		return fieldError(path, "the joined network namespace is the host's")
	}
	return nil
}

// validSysctlName rejects names that would not stay inside /proc/sys once
// turned into a path: empty, "." or ".." components, NUL bytes.
func validSysctlName(name string) bool {
	separator := "."
	if strings.Contains(name, "/") {
		separator = "/"
	}
	for _, component := range strings.Split(name, separator) {
		if component == "" || component == "." || component == ".." || strings.IndexByte(component, 0) >= 0 {
			return false
		}
	}
	return true
}

// sameFile reports whether two paths name the same inode.
func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}
