package specconv

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Device number limits of the kernel's dev_t encoding (12-bit major,
// 20-bit minor); larger numbers are silently truncated by mknod(2).
const (
	maxDeviceMajor = 1<<12 - 1
	maxDeviceMinor = 1<<20 - 1
)

// procFilesAllowedAsMountTarget are the files under /proc that may be
// covered by a mount, as in runc: lxcfs-style replacements of per-host
// information. Anything else under /proc could hide kernel interfaces the
// runtime relies on (e.g. /proc/self/attr) or defeat maskedPaths.
func procFilesAllowedAsMountTarget() []string {
	return []string{
		"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",
		"/proc/swaps", "/proc/uptime", "/proc/loadavg", "/proc/slabinfo",
		"/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
	}
}

// validateMounts checks each mount: destination, options, and for bind
// mounts that the source exists on the host.
func validateMounts(mounts []specs.Mount, bundle string) *Error {
	table := mountOptionTable() // once: each call allocates a copy
	for i, mount := range mounts {
		path := index("mounts", i)
		if strings.IndexByte(mount.Destination, 0) >= 0 {
			return fieldError(path+".destination", "contains a NUL byte")
		}
		if !filepath.IsAbs(mount.Destination) {
			return fieldError(path+".destination", "must be absolute")
		}
		options, err := parseMountOptions(table, path+".options", mount.Options)
		if err != nil {
			return err
		}
		if len(mount.UIDMappings) > 0 {
			return fieldError(path+".uidMappings", "idmapped mounts are not supported yet")
		}
		if len(mount.GIDMappings) > 0 {
			return fieldError(path+".gidMappings", "idmapped mounts are not supported yet")
		}
		if strings.IndexByte(mount.Source, 0) >= 0 {
			return fieldError(path+".source", "contains a NUL byte")
		}
		bind := isBindMount(mount.Type, options.flags)
		if !bind && mount.Type == "" {
			return fieldError(path+".type", "must be set unless the mount is a bind mount")
		}
		if bind {
			if err := checkBindSource(path+".source", mount.Source, bundle); err != nil {
				return err
			}
		}
		if err := checkProcTarget(path, mount, bind, bundle); err != nil {
			return err
		}
	}
	return nil
}

func isBindMount(mountType string, flags uintptr) bool {
	return mountType == "bind" || flags&unix.MS_BIND != 0
}

func checkBindSource(path, source, bundle string) *Error {
	if source == "" {
		return fieldError(path, "must be set for a bind mount")
	}
	resolved := inBundle(bundle, source)
	if _, err := os.Stat(resolved); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return causeError(path, err, "%s: no such file or directory", showPath(resolved))
		}
		return causeError(path, err, "%s: %v", showPath(resolved), unwrapPathError(err))
	}
	return nil
}

// checkProcTarget refuses mounts over /proc or inside it, except a procfs
// on /proc and the few files runc also lets through. The mounter must check
// again once symlinks inside the rootfs are resolved; this catches the
// plain cases before anything is created.
func checkProcTarget(path string, mount specs.Mount, bind bool, bundle string) *Error {
	destination := filepath.Clean(mount.Destination)
	if destination != "/proc" && !strings.HasPrefix(destination, "/proc/") {
		return nil
	}
	if destination == "/proc" && mount.Type == "proc" {
		return nil
	}
	if bind && isOnProcfs(inBundle(bundle, mount.Source)) {
		return nil
	}
	for _, allowed := range procFilesAllowedAsMountTarget() {
		if destination == allowed {
			return nil
		}
	}
	if destination == "/proc" {
		return fieldError(path+".destination", "only procfs may be mounted on /proc")
	}
	return fieldError(path+".destination", "mounting over %s is not allowed", showPath(destination))
}

func isOnProcfs(hostPath string) bool {
	var stat unix.Statfs_t
	return unix.Statfs(hostPath, &stat) == nil && stat.Type == unix.PROC_SUPER_MAGIC
}

// validateDevices checks linux.devices against mknod(2)'s rules.
func validateDevices(devices []specs.LinuxDevice) *Error {
	seen := make(map[string]bool, len(devices))
	for i, device := range devices {
		path := index("linux.devices", i)
		if !filepath.IsAbs(device.Path) {
			return fieldError(path+".path", "must be absolute")
		}
		if strings.IndexByte(device.Path, 0) >= 0 {
			return fieldError(path+".path", "contains a NUL byte")
		}
		cleaned := filepath.Clean(device.Path)
		if seen[cleaned] {
			return fieldError(path+".path", "duplicate device %q", cleaned)
		}
		seen[cleaned] = true
		switch device.Type {
		case "p":
			// major/minor are only required for other types; a fifo
			// ignores them (the node is made with number 0).
		case "c", "b", "u":
			if err := checkDeviceNumber(path+".major", device.Major, maxDeviceMajor); err != nil {
				return err
			}
			if err := checkDeviceNumber(path+".minor", device.Minor, maxDeviceMinor); err != nil {
				return err
			}
		default:
			return fieldError(path+".type", "unknown device type %q, must be c, b, u or p", device.Type)
		}
		if device.FileMode != nil && uint32(*device.FileMode)&^0o7777 != 0 {
			return fieldError(path+".fileMode", "must only hold permission bits (at most 07777)")
		}
	}
	return nil
}

func checkDeviceNumber(path string, number, limit int64) *Error {
	if number < 0 {
		return fieldError(path, "must not be negative")
	}
	if number > limit {
		return fieldError(path, "must be at most %d", limit)
	}
	return nil
}

// propagationOfRootfs maps linux.rootfsPropagation to mount flags.
// The empty value means the default, which configs encodes as 0.
func propagationOfRootfs(value string) (uintptr, bool) {
	if value == "" {
		return 0, true
	}
	return propagationFlags(value)
}

// validateLinuxPaths checks linux.rootfsPropagation, maskedPaths and
// readonlyPaths.
func validateLinuxPaths(linux *specs.Linux) *Error {
	if _, ok := propagationOfRootfs(linux.RootfsPropagation); !ok {
		return fieldError("linux.rootfsPropagation", "unknown propagation %q", linux.RootfsPropagation)
	}
	for _, list := range []struct {
		path  string
		paths []string
	}{
		{"linux.maskedPaths", linux.MaskedPaths},
		{"linux.readonlyPaths", linux.ReadonlyPaths},
	} {
		for i, p := range list.paths {
			if !filepath.IsAbs(p) {
				return fieldError(index(list.path, i), "must be absolute")
			}
			if strings.IndexByte(p, 0) >= 0 {
				return fieldError(index(list.path, i), "contains a NUL byte")
			}
		}
	}
	return nil
}
