package specconv

import (
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ToRootless changes spec in place so an unprivileged user can run it, the
// way "runc spec --rootless" does:
//   - a new user namespace mapping the caller's effective uid and gid to
//     root in the container (the only mapping an unprivileged user may
//     write without newuidmap);
//   - no network namespace: an unprivileged user cannot configure one, and
//     an empty one only has a loopback that is down;
//   - /sys bind-mounted recursively from the host, since sysfs cannot be
//     mounted without owning the network namespace;
//   - no uid=/gid= mount options, which name ids that are not mapped;
//   - no cgroup resources, which an unprivileged user cannot set.
func ToRootless(spec *specs.Spec) {
	if spec.Linux == nil {
		spec.Linux = &specs.Linux{}
	}
	linux := spec.Linux

	var namespaces []specs.LinuxNamespace
	for _, ns := range linux.Namespaces {
		if ns.Type == specs.NetworkNamespace || ns.Type == specs.UserNamespace {
			continue
		}
		namespaces = append(namespaces, ns)
	}
	linux.Namespaces = append(namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(os.Geteuid()), Size: 1}}
	linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(os.Getegid()), Size: 1}}

	mounts := make([]specs.Mount, 0, len(spec.Mounts))
	for _, mount := range spec.Mounts {
		if filepath.Clean(mount.Destination) == "/sys" {
			mounts = append(mounts, specs.Mount{
				Destination: "/sys",
				Type:        "none",
				Source:      "/sys",
				Options:     []string{"rbind", "nosuid", "noexec", "nodev", "ro"},
			})
			continue
		}
		var options []string
		for _, option := range mount.Options {
			if strings.HasPrefix(option, "uid=") || strings.HasPrefix(option, "gid=") {
				continue
			}
			options = append(options, option)
		}
		mount.Options = options
		mounts = append(mounts, mount)
	}
	spec.Mounts = mounts

	linux.Resources = nil
}
