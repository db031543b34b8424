package specconv

import (
	"reflect"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// validateUnsupported refuses settings this build of husk cannot apply:
// runtime.md says a runtime MUST generate an error for values it does not
// support, and silently running without a seccomp filter or an LSM
// profile that the user asked for would be a security hole. (runc refuses
// AppArmor and SELinux settings on hosts without them, too.)
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
	case l.Seccomp != nil:
		return fieldError("linux.seccomp", "seccomp is not supported by this build of husk yet")
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
// apply yet; the caller logs each as a warning. Cgroup settings are the
// case: engines always send them, and refusing would make husk unusable
// until cgroups are managed. The default "deny all devices" rule alone
// (every `spec` has it) is not worth a warning: without CAP_MKNOD a
// container only has the device nodes husk creates.
func Warnings(spec *specs.Spec) []string {
	if spec.Linux == nil || spec.Linux.Resources == nil {
		return nil
	}
	r := *spec.Linux.Resources
	onlyDenyAll := len(r.Devices) == 1 && !r.Devices[0].Allow && r.Devices[0].Type == "" &&
		r.Devices[0].Major == nil && r.Devices[0].Minor == nil
	if onlyDenyAll || len(r.Devices) == 0 {
		r.Devices = nil
	}
	if reflect.ValueOf(r).IsZero() {
		return nil
	}
	return []string{"linux.resources: cgroup limits are not applied yet (cgroups are not managed by this build)"}
}
