package specconv

import (
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOptions is one mount's option list decoded the way mount(8) and
// runc read it.
type mountOptions struct {
	flags       uintptr   // MS_* flags to pass to mount(2)
	clearFlags  uintptr   // MS_* flags an option explicitly turned off ("rw", "suid", ...)
	propagation []uintptr // MS_SHARED etc. (with MS_REC for the r-forms), in order
	data        []string  // filesystem-specific options for mount(2)'s data argument
	recAttrSet  uint64    // MOUNT_ATTR_* bits to set recursively with mount_setattr(2)
	recAttrClr  uint64    // MOUNT_ATTR_* bits to clear recursively
}

// parseMountOptions decodes the options of one mount with table (from
// mountOptionTable, built once per config by the caller). optionsPath is the
// JSON path of the options array, e.g. "mounts[3].options", used in errors.
// Options that are neither a known flag nor unsupported are passed on as
// filesystem data, as config.md asks ("Runtimes SHOULD treat unknown options
// as filesystem-specific ones"); only strings that cannot be a mount option
// at all are rejected.
func parseMountOptions(table []mountOption, optionsPath string, options []string) (mountOptions, *Error) {
	var decoded mountOptions
	for i, option := range options {
		optionPath := index(optionsPath, i)
		if err := checkOptionSyntax(optionPath, option); err != nil {
			return mountOptions{}, err
		}
		known, ok := findMountOption(table, option)
		if !ok {
			switch option {
			case "idmap", "ridmap", "tmpcopyup":
				return mountOptions{}, fieldError(optionPath, "%q is not supported yet", option)
			}
			decoded.data = append(decoded.data, option)
			continue
		}
		decoded.apply(known)
	}
	return decoded, nil
}

// apply adds one known option; later options override earlier ones.
func (decoded *mountOptions) apply(option mountOption) {
	switch option.kind {
	case flagOption:
		if option.clears {
			decoded.flags &^= option.flag
			decoded.clearFlags |= option.flag
		} else {
			decoded.flags |= option.flag
			decoded.clearFlags &^= option.flag
		}
	case propagationOption:
		decoded.propagation = append(decoded.propagation, option.flag)
	case recursiveAttrOption:
		if option.clears {
			decoded.recAttrClr |= option.attr
			decoded.recAttrSet &^= option.attr
		} else {
			decoded.recAttrSet |= option.attr
			decoded.recAttrClr &^= option.attr
		}
	case recursiveAtimeOption:
		// The atime policy is a 3-bit field, not independent bits:
		// mount_setattr(2) only changes it when all of MOUNT_ATTR__ATIME
		// is in attr_clr, and then takes the new value from attr_set.
		decoded.recAttrClr |= unix.MOUNT_ATTR__ATIME
		decoded.recAttrSet = decoded.recAttrSet&^unix.MOUNT_ATTR__ATIME | option.attr
	}
}

// checkOptionSyntax rejects strings that can never be a mount option:
// they would be split, truncated or misread once joined into mount(2)'s
// comma-separated data string.
func checkOptionSyntax(optionPath, option string) *Error {
	if option == "" {
		return fieldError(optionPath, "empty mount option")
	}
	if strings.Contains(option, ",") {
		return fieldError(optionPath, "mount option %q contains a comma", option)
	}
	if strings.HasPrefix(option, "=") {
		return fieldError(optionPath, "mount option %q has no name", option)
	}
	for _, r := range option {
		if r < 0x20 || r == 0x7f {
			return fieldError(optionPath, "mount option %q contains a control character", option)
		}
	}
	return nil
}

// mountOptionKind says how a known mount option is applied.
type mountOptionKind int

const (
	// flagOption sets (or, with clears, turns off) an MS_* flag of mount(2).
	flagOption mountOptionKind = iota
	// propagationOption needs its own mount(2) call: the kernel does not
	// take propagation flags together with other flags.
	propagationOption
	// recursiveAttrOption sets or clears a MOUNT_ATTR_* bit recursively
	// with mount_setattr(2).
	recursiveAttrOption
	// recursiveAtimeOption sets the MOUNT_ATTR__ATIME field recursively.
	recursiveAtimeOption
)

// mountOption is one option husk understands (everything else is data).
type mountOption struct {
	name   string
	kind   mountOptionKind
	flag   uintptr // MS_* flags, for flagOption and propagationOption
	attr   uint64  // MOUNT_ATTR_* bits or atime value, for the recursive kinds
	clears bool    // the option turns flag or attr off ("rw", "rsuid")
}

// mountOptionTable lists every option husk interprets, like runc's table.
// The negative recursive atime forms ("ratime", "rnorelatime",
// "rnostrictatime") cannot clear one bit of the atime field, so they reset
// it to the kernel's default policy, relatime, which is also what clearing
// MS_NOATIME/MS_RELATIME/MS_STRICTATIME yields with mount(2).
func mountOptionTable() []mountOption {
	flag := func(name string, flag uintptr, clears bool) mountOption {
		return mountOption{name: name, kind: flagOption, flag: flag, clears: clears}
	}
	propagation := func(name string, flag uintptr) mountOption {
		return mountOption{name: name, kind: propagationOption, flag: flag}
	}
	recursive := func(name string, attr uint64, clears bool) mountOption {
		return mountOption{name: name, kind: recursiveAttrOption, attr: attr, clears: clears}
	}
	atime := func(name string, value uint64) mountOption {
		return mountOption{name: name, kind: recursiveAtimeOption, attr: value}
	}
	const turnsOff = true
	return []mountOption{
		flag("defaults", 0, false),
		flag("ro", unix.MS_RDONLY, false),
		flag("rw", unix.MS_RDONLY, turnsOff),
		flag("nosuid", unix.MS_NOSUID, false),
		flag("suid", unix.MS_NOSUID, turnsOff),
		flag("nodev", unix.MS_NODEV, false),
		flag("dev", unix.MS_NODEV, turnsOff),
		flag("noexec", unix.MS_NOEXEC, false),
		flag("exec", unix.MS_NOEXEC, turnsOff),
		flag("sync", unix.MS_SYNCHRONOUS, false),
		flag("async", unix.MS_SYNCHRONOUS, turnsOff),
		flag("dirsync", unix.MS_DIRSYNC, false),
		flag("remount", unix.MS_REMOUNT, false),
		flag("mand", unix.MS_MANDLOCK, false),
		flag("nomand", unix.MS_MANDLOCK, turnsOff),
		flag("noatime", unix.MS_NOATIME, false),
		flag("atime", unix.MS_NOATIME, turnsOff),
		flag("nodiratime", unix.MS_NODIRATIME, false),
		flag("diratime", unix.MS_NODIRATIME, turnsOff),
		flag("bind", unix.MS_BIND, false),
		flag("rbind", unix.MS_BIND|unix.MS_REC, false),
		flag("relatime", unix.MS_RELATIME, false),
		flag("norelatime", unix.MS_RELATIME, turnsOff),
		flag("strictatime", unix.MS_STRICTATIME, false),
		flag("nostrictatime", unix.MS_STRICTATIME, turnsOff),
		flag("lazytime", unix.MS_LAZYTIME, false),
		flag("nolazytime", unix.MS_LAZYTIME, turnsOff),
		flag("iversion", unix.MS_I_VERSION, false),
		flag("noiversion", unix.MS_I_VERSION, turnsOff),
		flag("silent", unix.MS_SILENT, false),
		flag("loud", unix.MS_SILENT, turnsOff),
		flag("nosymfollow", unix.MS_NOSYMFOLLOW, false),
		flag("symfollow", unix.MS_NOSYMFOLLOW, turnsOff),

		propagation("private", unix.MS_PRIVATE),
		propagation("rprivate", unix.MS_PRIVATE|unix.MS_REC),
		propagation("shared", unix.MS_SHARED),
		propagation("rshared", unix.MS_SHARED|unix.MS_REC),
		propagation("slave", unix.MS_SLAVE),
		propagation("rslave", unix.MS_SLAVE|unix.MS_REC),
		propagation("unbindable", unix.MS_UNBINDABLE),
		propagation("runbindable", unix.MS_UNBINDABLE|unix.MS_REC),

		recursive("rro", unix.MOUNT_ATTR_RDONLY, false),
		recursive("rrw", unix.MOUNT_ATTR_RDONLY, turnsOff),
		recursive("rnosuid", unix.MOUNT_ATTR_NOSUID, false),
		recursive("rsuid", unix.MOUNT_ATTR_NOSUID, turnsOff),
		recursive("rnodev", unix.MOUNT_ATTR_NODEV, false),
		recursive("rdev", unix.MOUNT_ATTR_NODEV, turnsOff),
		recursive("rnoexec", unix.MOUNT_ATTR_NOEXEC, false),
		recursive("rexec", unix.MOUNT_ATTR_NOEXEC, turnsOff),
		recursive("rnodiratime", unix.MOUNT_ATTR_NODIRATIME, false),
		recursive("rdiratime", unix.MOUNT_ATTR_NODIRATIME, turnsOff),
		recursive("rnosymfollow", unix.MOUNT_ATTR_NOSYMFOLLOW, false),
		recursive("rsymfollow", unix.MOUNT_ATTR_NOSYMFOLLOW, turnsOff),

		atime("rnoatime", unix.MOUNT_ATTR_NOATIME),
		atime("rstrictatime", unix.MOUNT_ATTR_STRICTATIME),
		atime("rrelatime", unix.MOUNT_ATTR_RELATIME),
		atime("ratime", unix.MOUNT_ATTR_RELATIME),
		atime("rnorelatime", unix.MOUNT_ATTR_RELATIME),
		atime("rnostrictatime", unix.MOUNT_ATTR_RELATIME),
	}
}

func findMountOption(table []mountOption, name string) (mountOption, bool) {
	for _, option := range table {
		if option.name == name {
			return option, true
		}
	}
	return mountOption{}, false
}

// propagationFlags returns the mount flags of a propagation option name
// ("rslave" is MS_SLAVE|MS_REC).
func propagationFlags(name string) (uintptr, bool) {
	option, ok := findMountOption(mountOptionTable(), name)
	if !ok || option.kind != propagationOption {
		return 0, false
	}
	return option.flag, true
}

// MountOptionNames returns, sorted, the mount options husk interprets
// itself (flags, propagation and the recursive mount_setattr forms), for
// "husk features". Any other option is passed to the filesystem as data.
func MountOptionNames() []string {
	table := mountOptionTable()
	names := make([]string, len(table))
	for i, option := range table {
		names[i] = option.name
	}
	sort.Strings(names)
	return names
}
