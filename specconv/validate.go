package specconv

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Kernel limits checked before anything is created, so the user gets the
// field name instead of a bare EINVAL from deep inside container setup.
const (
	maxHostnameLength = 64 // HOST_NAME_MAX, also the limit of setdomainname(2)
	maxOOMScoreAdj    = 1000
	maxConsoleSide    = 1<<16 - 1 // struct winsize holds unsigned shorts
)

// Validate checks spec for everything that can be known before a container
// is created: values the runtime-spec forbids, values husk does not support,
// combinations the kernel would refuse (e.g. a hostname without a UTS
// namespace) and host paths that must exist (rootfs, bind sources,
// namespace files). bundleDir resolves relative paths.
//
// It returns the first problem found as an *Error whose text is one line
// naming the JSON path, e.g. "process.args: must not be empty".
//
// Settings husk cannot apply (seccomp, AppArmor, SELinux, ...) are errors;
// cgroup resources are accepted and reported by Warnings.
func Validate(spec *specs.Spec, bundleDir string) error {
	if err := validate(spec, bundleDir); err != nil {
		return err
	}
	return nil
}

func validate(spec *specs.Spec, bundleDir string) *Error {
	if spec == nil {
		return fieldError("", "no spec to validate")
	}
	bundle, err := filepath.Abs(bundleDir)
	if err != nil {
		return causeError("", err, "resolve bundle directory %s: %v", showPath(bundleDir), err)
	}
	if err := validateVersion(spec.Version); err != nil {
		return err
	}
	if err := validateProcess(spec.Process); err != nil {
		return err
	}
	if err := validateRoot(spec.Root, bundle); err != nil {
		return err
	}
	linux := spec.Linux
	if linux == nil {
		linux = &specs.Linux{}
	}
	namespaces, nsErr := validateNamespaces(linux.Namespaces)
	if nsErr != nil {
		return nsErr
	}
	checks := []func() *Error{
		func() *Error { return validateNames(spec, namespaces) },
		func() *Error { return validateIDMappings(linux, spec.Process, namespaces) },
		func() *Error { return validateMounts(spec.Mounts, bundle) },
		func() *Error { return validateTimeOffsets(linux.TimeOffsets, namespaces) },
		func() *Error { return validateSysctl(spec, namespaces) },
		func() *Error { return validateDevices(linux.Devices) },
		func() *Error { return validateLinuxPaths(linux) },
		func() *Error { return validateHooks(spec.Hooks) },
		func() *Error { return validateAnnotations(spec.Annotations) },
		func() *Error { return validateUnsupported(spec) },
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateVersion accepts the spec versions whose config.json format husk
// reads: 1.0.0 through 1.3.x, with any pre-release suffix ("1.0.2-dev",
// "1.3.0-rc.1").
func validateVersion(version string) *Error {
	const path = "ociVersion"
	if version == "" {
		return fieldError(path, "must be set")
	}
	core := version
	if cut := strings.IndexAny(version, "-+"); cut >= 0 {
		core = version[:cut]
	}
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return fieldError(path, "invalid version %q", version)
	}
	var numbers [3]int
	for i, part := range parts {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return fieldError(path, "invalid version %q", version)
		}
		numbers[i] = n
	}
	if numbers[0] != 1 || numbers[1] > 3 {
		return fieldError(path, "unsupported version %q", version)
	}
	return nil
}

// validateRoot checks that the root filesystem directory exists.
func validateRoot(root *specs.Root, bundle string) *Error {
	if root == nil {
		return fieldError("root", "must be set")
	}
	if root.Path == "" {
		return fieldError("root.path", "must be set")
	}
	if strings.IndexByte(root.Path, 0) >= 0 {
		return fieldError("root.path", "contains a NUL byte")
	}
	rootfs := inBundle(bundle, root.Path)
	info, err := os.Stat(rootfs)
	if errors.Is(err, fs.ErrNotExist) {
		return causeError("root.path", err, "%s: no such directory", showPath(rootfs))
	}
	if err != nil {
		return causeError("root.path", err, "%s: %v", showPath(rootfs), unwrapPathError(err))
	}
	if !info.IsDir() {
		return fieldError("root.path", "%s: not a directory", showPath(rootfs))
	}
	return nil
}

// validateProcess checks the container's init process. The spec lets
// process be absent: such a container can be created, but `start` fails.
func validateProcess(process *specs.Process) *Error {
	if process == nil {
		return nil
	}
	if len(process.Args) == 0 {
		return fieldError("process.args", "must not be empty")
	}
	if process.Args[0] == "" {
		return fieldError("process.args[0]", "must not be empty")
	}
	for i, arg := range process.Args {
		if strings.IndexByte(arg, 0) >= 0 {
			return fieldError(index("process.args", i), "contains a NUL byte")
		}
	}
	if !filepath.IsAbs(process.Cwd) {
		return fieldError("process.cwd", "must be absolute")
	}
	if strings.IndexByte(process.Cwd, 0) >= 0 {
		return fieldError("process.cwd", "contains a NUL byte")
	}
	if err := validateEnv(process.Env); err != nil {
		return err
	}
	// config.md: runtimes MUST ignore consoleSize without a terminal.
	if process.Terminal && process.ConsoleSize != nil {
		if process.ConsoleSize.Width > maxConsoleSide {
			return fieldError("process.consoleSize.width", "must be at most %d", maxConsoleSide)
		}
		if process.ConsoleSize.Height > maxConsoleSide {
			return fieldError("process.consoleSize.height", "must be at most %d", maxConsoleSide)
		}
	}
	if err := validateCapabilities(process.Capabilities); err != nil {
		return err
	}
	if err := validateRlimits(process.Rlimits); err != nil {
		return err
	}
	if adj := process.OOMScoreAdj; adj != nil && (*adj < -maxOOMScoreAdj || *adj > maxOOMScoreAdj) {
		return fieldError("process.oomScoreAdj", "must be between %d and %d", -maxOOMScoreAdj, maxOOMScoreAdj)
	}
	return nil
}

func validateEnv(env []string) *Error {
	for i, entry := range env {
		path := index("process.env", i)
		name, _, hasValue := strings.Cut(entry, "=")
		switch {
		case !hasValue:
			return fieldError(path, "%q is not NAME=value", entry)
		case name == "":
			return fieldError(path, "%q has an empty name", entry)
		case strings.IndexByte(entry, 0) >= 0:
			return fieldError(path, "contains a NUL byte")
		}
	}
	return nil
}

// capabilitySets pairs each capability set of the spec with its JSON name.
func capabilitySets(caps *specs.LinuxCapabilities) []struct {
	name  string
	names []string
} {
	return []struct {
		name  string
		names []string
	}{
		{"bounding", caps.Bounding},
		{"effective", caps.Effective},
		{"inheritable", caps.Inheritable},
		{"permitted", caps.Permitted},
		{"ambient", caps.Ambient},
	}
}

func validateCapabilities(caps *specs.LinuxCapabilities) *Error {
	if caps == nil {
		return nil
	}
	table := capabilityTable() // once: each call allocates a copy
	for _, set := range capabilitySets(caps) {
		for i, name := range set.names {
			if _, ok := lookup(table, name); !ok {
				return fieldError(index("process.capabilities."+set.name, i), "unknown capability %q", name)
			}
		}
	}
	return nil
}

func validateRlimits(rlimits []specs.POSIXRlimit) *Error {
	seen := make(map[string]bool, len(rlimits))
	for i, rlimit := range rlimits {
		path := index("process.rlimits", i)
		if _, ok := RlimitNumber(rlimit.Type); !ok {
			return fieldError(path+".type", "unknown rlimit %q", rlimit.Type)
		}
		// config.md: duplicated entries with the same type MUST be an error.
		if seen[rlimit.Type] {
			return fieldError(path+".type", "duplicate rlimit %q", rlimit.Type)
		}
		seen[rlimit.Type] = true
		if rlimit.Soft > rlimit.Hard {
			return fieldError(path, "soft limit above hard limit")
		}
	}
	return nil
}

// validateNames checks hostname and domainname: setting them outside a
// UTS namespace of the container's own would rename the host (or another
// container that owns the joined namespace).
func validateNames(spec *specs.Spec, namespaces namespaceSet) *Error {
	for _, name := range []struct{ path, value string }{
		{"hostname", spec.Hostname},
		{"domainname", spec.Domainname},
	} {
		if name.value == "" {
			continue
		}
		// A joined uts namespace is fine: the name is set in it, as
		// config.md says ("may be the runtime UTS namespace" otherwise).
		if !namespaces.has(specs.UTSNamespace) {
			return fieldError(name.path, "requires a uts namespace")
		}
		if len(name.value) > maxHostnameLength {
			return fieldError(name.path, "longer than %d bytes", maxHostnameLength)
		}
	}
	return nil
}

// hookLists pairs each hook list with its JSON path, in lifecycle order.
func hookLists(hooks *specs.Hooks) []struct {
	path  string
	hooks []specs.Hook
} {
	return []struct {
		path  string
		hooks []specs.Hook
	}{
		{"hooks.prestart", hooks.Prestart},
		{"hooks.createRuntime", hooks.CreateRuntime},
		{"hooks.createContainer", hooks.CreateContainer},
		{"hooks.startContainer", hooks.StartContainer},
		{"hooks.poststart", hooks.Poststart},
		{"hooks.poststop", hooks.Poststop},
	}
}

func validateHooks(hooks *specs.Hooks) *Error {
	if hooks == nil {
		return nil
	}
	for _, list := range hookLists(hooks) {
		for i, hook := range list.hooks {
			path := index(list.path, i)
			if !filepath.IsAbs(hook.Path) {
				return fieldError(path+".path", "must be absolute")
			}
			if strings.IndexByte(hook.Path, 0) >= 0 {
				return fieldError(path+".path", "contains a NUL byte")
			}
			if hook.Timeout != nil && *hook.Timeout <= 0 {
				return fieldError(path+".timeout", "must be greater than zero")
			}
		}
	}
	return nil
}

func validateAnnotations(annotations map[string]string) *Error {
	// config.md: keys MUST NOT be an empty string.
	if _, ok := annotations[""]; ok {
		return fieldError(key("annotations", ""), "key must not be empty")
	}
	return nil
}

// inBundle resolves a path of the config: relative paths are relative to
// the bundle directory, like runc (which runs from inside the bundle).
func inBundle(bundle, path string) string {
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	return filepath.Join(bundle, path)
}

// showPath prints a host path as is when it is plain, and quoted when it
// holds characters (newlines, control bytes) that would break the
// one-line error format.
func showPath(path string) string {
	quoted := strconv.Quote(path)
	if quoted[1:len(quoted)-1] == path && !strings.ContainsAny(path, " \"") {
		return path
	}
	return quoted
}

// unwrapPathError strips the "stat <path>:" prefix the message already has.
func unwrapPathError(err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err
	}
	return err
}

// sortedKeys returns a map's keys in order so the first error is stable.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
