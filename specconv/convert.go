package specconv

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/huskrt/husk/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultDeviceMode is the permission of a device node whose fileMode is
// not set, as in runc.
const defaultDeviceMode = 0o666

// Convert validates spec (see Validate) and turns it into the libcontainer
// configuration: names become numbers, options become flags and paths
// become absolute host paths. bundleDir resolves relative paths.
func Convert(spec *specs.Spec, bundleDir string) (*configs.Config, error) {
	if err := Validate(spec, bundleDir); err != nil {
		return nil, err
	}
	bundle, err := filepath.Abs(bundleDir)
	if err != nil {
		return nil, fmt.Errorf("resolve bundle directory %s: %w", bundleDir, err)
	}
	rootfs := inBundle(bundle, spec.Root.Path)
	// Resolve symlinks once here so every later step (pivot_root, mount
	// checks) works on the real directory, not on a link that could change.
	if real, err := filepath.EvalSymlinks(rootfs); err == nil {
		rootfs = real
	}

	linux := spec.Linux
	if linux == nil {
		linux = &specs.Linux{}
	}
	rootPropagation, _ := propagationOfRootfs(linux.RootfsPropagation)
	mounts, err := convertMounts(spec.Mounts, bundle)
	if err != nil {
		return nil, err
	}
	config := &configs.Config{
		Rootfs:          rootfs,
		ReadonlyRootfs:  spec.Root.Readonly,
		RootPropagation: rootPropagation,
		Hostname:        spec.Hostname,
		Domainname:      spec.Domainname,
		Namespaces:      convertNamespaces(linux.Namespaces),
		UIDMappings:     convertIDMappings(linux.UIDMappings),
		GIDMappings:     convertIDMappings(linux.GIDMappings),
		TimeOffsets:     convertTimeOffsets(linux.TimeOffsets),
		Mounts:          mounts,
		Devices:         convertDevices(linux.Devices),
		MaskedPaths:     slices.Clone(linux.MaskedPaths),
		ReadonlyPaths:   slices.Clone(linux.ReadonlyPaths),
		Sysctl:          maps.Clone(linux.Sysctl),
		CgroupsPath:     linux.CgroupsPath,
		Hooks:           convertHooks(spec.Hooks),
		Process:         convertProcess(spec.Process),
		Annotations:     maps.Clone(spec.Annotations),
		OCIVersion:      spec.Version,
	}
	return config, nil
}

func convertNamespaces(namespaces []specs.LinuxNamespace) []configs.Namespace {
	if len(namespaces) == 0 {
		return nil
	}
	out := make([]configs.Namespace, len(namespaces))
	for i, ns := range namespaces {
		out[i] = configs.Namespace{Type: configs.NamespaceType(ns.Type), Path: ns.Path}
	}
	return out
}

func convertIDMappings(mappings []specs.LinuxIDMapping) []configs.IDMap {
	if len(mappings) == 0 {
		return nil
	}
	out := make([]configs.IDMap, len(mappings))
	for i, m := range mappings {
		out[i] = configs.IDMap{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size}
	}
	return out
}

func convertTimeOffsets(offsets map[string]specs.LinuxTimeOffset) map[string]configs.TimeOffset {
	if len(offsets) == 0 {
		return nil
	}
	out := make(map[string]configs.TimeOffset, len(offsets))
	for clock, offset := range offsets {
		out[clock] = configs.TimeOffset{Secs: offset.Secs, Nanosecs: offset.Nanosecs}
	}
	return out
}

// convertMounts decodes mount options into flags. Bind mounts get type
// "bind" whatever the spec said ("none" is common with "rbind"), and a
// relative bind source is taken relative to the bundle.
func convertMounts(mounts []specs.Mount, bundle string) ([]configs.Mount, error) {
	if len(mounts) == 0 {
		return nil, nil
	}
	out := make([]configs.Mount, len(mounts))
	table := mountOptionTable() // once: each call allocates a copy
	for i, mount := range mounts {
		options, err := parseMountOptions(table, index("mounts", i)+".options", mount.Options)
		if err != nil {
			return nil, err
		}
		converted := configs.Mount{
			Source:           mount.Source,
			Destination:      filepath.Clean(mount.Destination),
			Type:             mount.Type,
			Flags:            options.flags,
			ClearFlags:       options.clearFlags,
			PropagationFlags: options.propagation,
			Data:             strings.Join(options.data, ","),
			RecAttrSet:       options.recAttrSet,
			RecAttrClr:       options.recAttrClr,
		}
		if isBindMount(mount.Type, options.flags) {
			converted.Type = "bind"
			converted.Source = inBundle(bundle, mount.Source)
		}
		out[i] = converted
	}
	return out, nil
}

func convertDevices(devices []specs.LinuxDevice) []configs.Device {
	if len(devices) == 0 {
		return nil
	}
	out := make([]configs.Device, len(devices))
	for i, device := range devices {
		converted := configs.Device{
			Path:     filepath.Clean(device.Path),
			Type:     rune(device.Type[0]),
			Major:    device.Major,
			Minor:    device.Minor,
			FileMode: defaultDeviceMode,
		}
		if converted.Type == 'p' {
			converted.Major, converted.Minor = 0, 0
		}
		if device.FileMode != nil {
			converted.FileMode = uint32(*device.FileMode)
		}
		if device.UID != nil {
			converted.UID = *device.UID
		}
		if device.GID != nil {
			converted.GID = *device.GID
		}
		out[i] = converted
	}
	return out
}

func convertHooks(hooks *specs.Hooks) configs.Hooks {
	if hooks == nil {
		return configs.Hooks{}
	}
	return configs.Hooks{
		Prestart:        convertHookList(hooks.Prestart),
		CreateRuntime:   convertHookList(hooks.CreateRuntime),
		CreateContainer: convertHookList(hooks.CreateContainer),
		StartContainer:  convertHookList(hooks.StartContainer),
		Poststart:       convertHookList(hooks.Poststart),
		Poststop:        convertHookList(hooks.Poststop),
	}
}

func convertHookList(hooks []specs.Hook) []configs.Hook {
	if len(hooks) == 0 {
		return nil
	}
	out := make([]configs.Hook, len(hooks))
	for i, hook := range hooks {
		out[i] = configs.Hook{
			Path:    hook.Path,
			Args:    slices.Clone(hook.Args),
			Env:     slices.Clone(hook.Env),
			Timeout: clonePointer(hook.Timeout),
		}
	}
	return out
}

// convertProcess converts a validated process.
func convertProcess(process *specs.Process) *configs.Process {
	if process == nil {
		return nil
	}
	converted := &configs.Process{
		Args:     slices.Clone(process.Args),
		Env:      slices.Clone(process.Env),
		Cwd:      process.Cwd,
		Terminal: process.Terminal,
		User: configs.User{
			UID:            process.User.UID,
			GID:            process.User.GID,
			Umask:          clonePointer(process.User.Umask),
			AdditionalGids: slices.Clone(process.User.AdditionalGids),
			Username:       process.User.Username,
		},
		Capabilities:    convertCapabilities(process.Capabilities),
		Rlimits:         convertRlimits(process.Rlimits),
		NoNewPrivileges: process.NoNewPrivileges,
		OOMScoreAdj:     clonePointer(process.OOMScoreAdj),
	}
	// config.md: consoleSize is ignored without a terminal.
	if process.Terminal && process.ConsoleSize != nil {
		converted.ConsoleWidth = uint16(process.ConsoleSize.Width)
		converted.ConsoleHeight = uint16(process.ConsoleSize.Height)
	}
	return converted
}

func convertCapabilities(caps *specs.LinuxCapabilities) *configs.Capabilities {
	if caps == nil {
		return nil
	}
	return &configs.Capabilities{
		Bounding:    capabilityNumbers(caps.Bounding),
		Effective:   capabilityNumbers(caps.Effective),
		Inheritable: capabilityNumbers(caps.Inheritable),
		Permitted:   capabilityNumbers(caps.Permitted),
		Ambient:     capabilityNumbers(caps.Ambient),
	}
}

// capabilityNumbers maps validated capability names to numbers.
func capabilityNumbers(names []string) []int {
	if len(names) == 0 {
		return nil
	}
	numbers := make([]int, 0, len(names))
	table := capabilityTable() // once: each call allocates a copy
	for _, name := range names {
		if number, ok := lookup(table, name); ok {
			numbers = append(numbers, number)
		}
	}
	return numbers
}

func convertRlimits(rlimits []specs.POSIXRlimit) []configs.Rlimit {
	if len(rlimits) == 0 {
		return nil
	}
	out := make([]configs.Rlimit, 0, len(rlimits))
	for _, rlimit := range rlimits {
		if number, ok := RlimitNumber(rlimit.Type); ok {
			out = append(out, configs.Rlimit{Type: number, Hard: rlimit.Hard, Soft: rlimit.Soft})
		}
	}
	return out
}

func clonePointer[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
