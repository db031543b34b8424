package specconv

import (
	"reflect"
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// validateUnsupported refuses settings this build of husk cannot apply:
// runtime.md says a runtime MUST generate an error for values it does not
// support, and silently running without an LSM profile the user asked for
// would be a security hole (runc refuses AppArmor and SELinux settings on
// hosts without them, too). Seccomp is the exception, for now: engines and
// the conformance suite always send a profile, so it is accepted with a
// loud warning (see Warnings) until seccomp support lands.
func validateUnsupported(spec *specs.Spec) *Error {
	if p := spec.Process; p != nil {
		switch {
		case p.ApparmorProfile != "":
			return fieldError("process.apparmorProfile", "AppArmor is not supported by this build of husk")
		case p.SelinuxLabel != "":
			return fieldError("process.selinuxLabel", "SELinux is not supported by this build of husk")
		case p.Scheduler != nil:
			return fieldError("process.scheduler", "not supported yet")
		case p.IOPriority != nil:
			return fieldError("process.ioPriority", "not supported yet")
		case p.ExecCPUAffinity != nil:
			return fieldError("process.execCPUAffinity", "not supported yet")
		}
	}
	l := spec.Linux
	if l == nil {
		return nil
	}
	switch {
	case l.MountLabel != "":
		return fieldError("linux.mountLabel", "SELinux is not supported by this build of husk")
	case l.IntelRdt != nil:
		return fieldError("linux.intelRdt", "not supported")
	case l.Personality != nil:
		return fieldError("linux.personality", "not supported yet")
	case l.MemoryPolicy != nil:
		return fieldError("linux.memoryPolicy", "not supported yet")
	case len(l.NetDevices) > 0:
		return fieldError("linux.netDevices", "not supported yet")
	}
	return nil
}

// Warnings lists what a valid spec asks for that husk accepts but does not
// apply yet; the caller logs each as a warning. Seccomp and cgroup
// settings are the cases: engines always send them, and refusing would
// make husk unusable until they are supported. The default "deny all devices" rule alone
// (every `spec` has it) is not worth a warning when the container cannot
// make device nodes of the host (no CAP_MKNOD, or a user namespace): it
// then only has the nodes husk creates.
func Warnings(spec *specs.Spec) []string {
	if spec.Linux == nil {
		return nil
	}
	var warnings []string
	if !hasNamespace(spec.Linux.Namespaces, specs.MountNamespace) && (len(spec.Mounts) > 0 || len(spec.Linux.MaskedPaths) > 0 || len(spec.Linux.ReadonlyPaths) > 0) {
		warnings = append(warnings, "linux.namespaces: no mount namespace, so mounts, maskedPaths and readonlyPaths are not applied (the container only gets a chroot)")
	}
	if spec.Linux.Seccomp != nil {
		warnings = append(warnings, "linux.seccomp: not supported yet; the container runs WITHOUT a seccomp filter")
	}
	if spec.Linux.Resources == nil {
		return warnings
	}
	r := *spec.Linux.Resources
	onlyDenyAll := len(r.Devices) == 1 && !r.Devices[0].Allow && r.Devices[0].Type == "" &&
		r.Devices[0].Major == nil && r.Devices[0].Minor == nil
	if len(r.Devices) == 0 || (onlyDenyAll && !canMknodHostDevices(spec)) {
		r.Devices = nil
	}
	if reflect.ValueOf(r).IsZero() {
		return warnings
	}
	return append(warnings, "linux.resources: cgroup limits are not applied yet (cgroups are not managed by this build)")
}

func hasNamespace(list []specs.LinuxNamespace, t specs.LinuxNamespaceType) bool {
	for _, ns := range list {
		if ns.Type == t {
			return true
		}
	}
	return false
}

// canMknodHostDevices reports whether the process could create usable
// device nodes: CAP_MKNOD in one of its sets and no user namespace.
func canMknodHostDevices(spec *specs.Spec) bool {
	if spec.Linux != nil && hasNamespace(spec.Linux.Namespaces, specs.UserNamespace) {
		return false
	}
	if spec.Process == nil || spec.Process.Capabilities == nil {
		return false
	}
	c := spec.Process.Capabilities
	for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient} {
		if slices.Contains(set, "CAP_MKNOD") {
			return true
		}
	}
	return false
}
