package main

import "strings"

// category groups the validation programs by the runtime feature they
// exercise, so that a report can tell the features husk targets from the
// ones that belong to other work (cgroups, seccomp, LSMs).
type category string

const (
	catLifecycle  category = "lifecycle"
	catNamespaces category = "namespaces"
	catRootfs     category = "rootfs/mounts"
	catProcess    category = "process"
	catHooks      category = "hooks"
	catState      category = "state"
	catKill       category = "kill"
	catCgroups    category = "cgroups"
	catSeccomp    category = "seccomp"
	catOther      category = "other"
)

// programCategory names the feature a program tests. Unknown names (a
// newer runtime-tools) fall into "other".
func programCategory(name string) category {
	if strings.HasPrefix(name, "linux_cgroups_") {
		return catCgroups
	}
	switch name {
	// "default" runs runtimetest on the default config, which checks a bit
	// of everything (mounts, process, devices); it is the basic run.
	case "create", "start", "delete", "pidfile", "misc_props", "config_updates_without_affect", "default":
		return catLifecycle
	case "hostname", "linux_ns_itype", "linux_ns_nopath", "linux_ns_path", "linux_ns_path_type", "linux_uid_mappings":
		return catNamespaces
	case "mounts", "linux_devices", "linux_masked_paths", "linux_readonly_paths", "linux_rootfs_propagation", "root_readonly_true":
		return catRootfs
	case "process", "process_capabilities", "process_capabilities_fail", "process_oom_score_adj",
		"process_rlimits", "process_rlimits_fail", "process_user":
		return catProcess
	case "hooks", "hooks_stdin", "prestart", "prestart_fail", "poststart", "poststart_fail", "poststop", "poststop_fail":
		return catHooks
	case "state":
		return catState
	case "kill", "kill_no_effect", "killsig":
		return catKill
	case "delete_resources", "delete_only_create_resources":
		return catCgroups
	case "linux_seccomp":
		return catSeccomp
	}
	// linux_sysctl, linux_mount_label (SELinux), linux_process_apparmor_profile.
	return catOther
}

// createsCgroups reports whether a program makes cgroups itself or has the
// runtime make them at paths it chooses: under the caller's own cgroup (the
// linux_cgroups_relative_* programs) or at fixed places such as
// /sys/fs/cgroup/pids/cgrouptest. Those run only with -all, since cgroups
// belong to other work and must not be left behind on a shared host.
func createsCgroups(name string) bool {
	return programCategory(name) == catCgroups
}
