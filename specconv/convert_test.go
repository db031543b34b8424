package specconv

import (
	"github.com/opencontainers/runtime-spec/specs-go"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/huskrt/husk/libcontainer/configs"
	"golang.org/x/sys/unix"
)

func TestParseMountOptions(t *testing.T) {
	cases := []struct {
		options []string
		want    mountOptions
	}{
		{nil, mountOptions{}},
		{[]string{"defaults"}, mountOptions{}},
		{[]string{"nosuid", "noexec", "nodev", "ro"},
			mountOptions{flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV | unix.MS_RDONLY}},
		{[]string{"ro", "rw"}, mountOptions{clearFlags: unix.MS_RDONLY}},
		{[]string{"rw", "ro"}, mountOptions{flags: unix.MS_RDONLY}},
		{[]string{"suid", "dev", "exec", "async", "nomand", "atime", "diratime", "norelatime", "nostrictatime", "nolazytime", "loud", "symfollow", "noiversion"},
			mountOptions{clearFlags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_SYNCHRONOUS | unix.MS_MANDLOCK |
				unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME | unix.MS_LAZYTIME |
				unix.MS_SILENT | unix.MS_NOSYMFOLLOW | unix.MS_I_VERSION}},
		{[]string{"sync", "dirsync", "remount", "mand", "noatime", "nodiratime", "relatime", "strictatime", "lazytime", "silent", "nosymfollow", "iversion"},
			mountOptions{flags: unix.MS_SYNCHRONOUS | unix.MS_DIRSYNC | unix.MS_REMOUNT | unix.MS_MANDLOCK | unix.MS_NOATIME |
				unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME | unix.MS_LAZYTIME | unix.MS_SILENT |
				unix.MS_NOSYMFOLLOW | unix.MS_I_VERSION}},
		{[]string{"bind"}, mountOptions{flags: unix.MS_BIND}},
		{[]string{"rbind", "ro"}, mountOptions{flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY}},
		{[]string{"rprivate"}, mountOptions{propagation: []uintptr{unix.MS_PRIVATE | unix.MS_REC}}},
		{[]string{"private", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable"},
			mountOptions{propagation: []uintptr{unix.MS_PRIVATE, unix.MS_SHARED, unix.MS_SHARED | unix.MS_REC,
				unix.MS_SLAVE, unix.MS_SLAVE | unix.MS_REC, unix.MS_UNBINDABLE, unix.MS_UNBINDABLE | unix.MS_REC}}},
		{[]string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"},
			mountOptions{flags: unix.MS_NOSUID | unix.MS_NOEXEC, data: []string{"newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
		{[]string{"mode=755", "size=65536k"}, mountOptions{data: []string{"mode=755", "size=65536k"}}},
		{[]string{"rro", "rnosuid", "rnodev", "rnoexec", "rnodiratime", "rnosymfollow"},
			mountOptions{recAttrSet: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV |
				unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NODIRATIME | unix.MOUNT_ATTR_NOSYMFOLLOW}},
		{[]string{"rrw", "rsuid", "rdev", "rexec", "rdiratime", "rsymfollow"},
			mountOptions{recAttrClr: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV |
				unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NODIRATIME | unix.MOUNT_ATTR_NOSYMFOLLOW}},
		{[]string{"rro", "rrw"}, mountOptions{recAttrClr: unix.MOUNT_ATTR_RDONLY}},
		{[]string{"rnoatime"}, mountOptions{recAttrSet: unix.MOUNT_ATTR_NOATIME, recAttrClr: unix.MOUNT_ATTR__ATIME}},
		{[]string{"rstrictatime"}, mountOptions{recAttrSet: unix.MOUNT_ATTR_STRICTATIME, recAttrClr: unix.MOUNT_ATTR__ATIME}},
		{[]string{"rnoatime", "rrelatime"}, mountOptions{recAttrSet: unix.MOUNT_ATTR_RELATIME, recAttrClr: unix.MOUNT_ATTR__ATIME}},
		{[]string{"rnoatime", "ratime"}, mountOptions{recAttrClr: unix.MOUNT_ATTR__ATIME}},
		{[]string{"rstrictatime", "rnostrictatime"}, mountOptions{recAttrClr: unix.MOUNT_ATTR__ATIME}},
		{[]string{"rnorelatime", "rro"}, mountOptions{recAttrSet: unix.MOUNT_ATTR_RDONLY, recAttrClr: unix.MOUNT_ATTR__ATIME}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.options, ","), func(t *testing.T) {
			got, err := parseMountOptions(mountOptionTable(), "mounts[0].options", tc.options)
			if err != nil {
				t.Fatalf("parseMountOptions: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parseMountOptions(%q)\n got %+v\nwant %+v", tc.options, got, tc.want)
			}
		})
	}
}

func TestParseMountOptionsUnsupported(t *testing.T) {
	for _, option := range []string{"idmap", "ridmap", "tmpcopyup"} {
		_, err := parseMountOptions(mountOptionTable(), "mounts[2].options", []string{"ro", option})
		want := `mounts[2].options[1]: "` + option + `" is not supported yet`
		if err == nil || err.Error() != want {
			t.Errorf("option %q: got %v, want %q", option, err, want)
		}
	}
}

// convertPatched converts baseConfig with a merge patch applied.
func convertPatched(t *testing.T, patch string) (*configs.Config, string) {
	t.Helper()
	bundle := newBundle(t)
	writeConfig(t, bundle, patchedConfig(t, patch))
	spec, err := LoadSpec(bundle)
	if err != nil {
		t.Fatalf("LoadSpec: %v", err)
	}
	config, err := Convert(spec, bundle)
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	return config, bundle
}

func TestConvertMounts(t *testing.T) {
	config, bundle := convertPatched(t, `{"mounts": [
		{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
		{"destination": "/data/", "type": "none", "source": "adir", "options": ["rbind", "ro", "rprivate", "rnoexec"]},
		{"destination": "/etc/hostname", "type": "bind", "source": "/dev/null"}
	]}`)
	want := []configs.Mount{
		{Source: "tmpfs", Destination: "/dev", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k"},
		{Source: filepath.Join(bundle, "adir"), Destination: "/data", Type: "bind",
			Flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY, PropagationFlags: []uintptr{unix.MS_PRIVATE | unix.MS_REC},
			RecAttrSet: unix.MOUNT_ATTR_NOEXEC},
		{Source: "/dev/null", Destination: "/etc/hostname", Type: "bind"},
	}
	if !reflect.DeepEqual(config.Mounts, want) {
		t.Fatalf("mounts\n got %+v\nwant %+v", config.Mounts, want)
	}
	if !config.Mounts[1].IsBind() || !config.Mounts[2].IsBind() || config.Mounts[0].IsBind() {
		t.Fatal("IsBind disagrees with the conversion")
	}
}

func TestConvertProcess(t *testing.T) {
	config, _ := convertPatched(t, `{"process": {
		"terminal": true, "consoleSize": {"width": 80, "height": 24},
		"args": ["/bin/app", "-v"], "env": ["A=1"], "cwd": "/work",
		"user": {"uid": 5, "gid": 6, "umask": 18, "additionalGids": [7, 8], "username": "app"},
		"capabilities": {"bounding": ["CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"], "effective": ["CAP_KILL"],
			"inheritable": [], "permitted": ["CAP_NET_ADMIN", "CAP_SYS_ADMIN"], "ambient": ["CAP_BPF"]},
		"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}, {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}],
		"noNewPrivileges": true, "oomScoreAdj": -17
	}}`)
	umask, oom := uint32(18), -17
	want := &configs.Process{
		Args: []string{"/bin/app", "-v"}, Env: []string{"A=1"}, Cwd: "/work",
		Terminal: true, ConsoleWidth: 80, ConsoleHeight: 24,
		User: configs.User{UID: 5, GID: 6, Umask: &umask, AdditionalGids: []uint32{7, 8}, Username: "app"},
		Capabilities: &configs.Capabilities{
			Bounding:  []int{unix.CAP_CHOWN, unix.CAP_CHECKPOINT_RESTORE},
			Effective: []int{unix.CAP_KILL},
			Permitted: []int{unix.CAP_NET_ADMIN, unix.CAP_SYS_ADMIN},
			Ambient:   []int{unix.CAP_BPF},
		},
		Rlimits: []configs.Rlimit{
			{Type: unix.RLIMIT_NOFILE, Hard: 1024, Soft: 512},
			{Type: unix.RLIMIT_CORE},
		},
		NoNewPrivileges: true,
		OOMScoreAdj:     &oom,
	}
	if !reflect.DeepEqual(config.Process, want) {
		t.Fatalf("process\n got %+v\nwant %+v", config.Process, want)
	}
}

func TestConvertConsoleSizeNeedsTerminal(t *testing.T) {
	config, _ := convertPatched(t, `{"process": {"consoleSize": {"width": 80, "height": 24}}}`)
	if config.Process.ConsoleWidth != 0 || config.Process.ConsoleHeight != 0 {
		t.Fatalf("console size %dx%d kept without a terminal", config.Process.ConsoleWidth, config.Process.ConsoleHeight)
	}
	if config.Process.Capabilities != nil {
		t.Fatal("capabilities invented for a process without a capabilities section")
	}
}

func TestConvertRootPropagation(t *testing.T) {
	cases := map[string]uintptr{
		"":            0,
		"rslave":      unix.MS_SLAVE | unix.MS_REC,
		"slave":       unix.MS_SLAVE,
		"rshared":     unix.MS_SHARED | unix.MS_REC,
		"private":     unix.MS_PRIVATE,
		"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
	}
	for value, want := range cases {
		config, _ := convertPatched(t, `{"linux": {"rootfsPropagation": "`+value+`"}}`)
		if config.RootPropagation != want {
			t.Errorf("rootfsPropagation %q: got %#x, want %#x", value, config.RootPropagation, want)
		}
	}
}

func TestConvertLinux(t *testing.T) {
	config, bundle := convertPatched(t, `{
		"hostname": "box", "domainname": "example.org",
		"root": {"path": "rootfs", "readonly": true},
		"annotations": {"a": "b"},
		"hooks": {"prestart": [{"path": "/bin/true", "args": ["true"], "timeout": 3}], "poststop": [{"path": "/bin/false"}]},
		"linux": {
			"namespaces": [{"type": "mount"}, {"type": "uts"}, {"type": "user"}, {"type": "time"}, {"type": "network", "path": "/proc/self/ns/net"}],
			"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
			"gidMappings": [{"containerID": 0, "hostID": 2000, "size": 10}],
			"timeOffsets": {"monotonic": {"secs": 10, "nanosecs": 5}},
			"devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229},
				{"path": "/dev/sda", "type": "b", "major": 8, "minor": 0, "fileMode": 432, "uid": 3, "gid": 4},
				{"path": "/dev/fifo", "type": "p"}],
			"maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"],
			"cgroupsPath": "/husk/c1"
		}
	}`)
	timeout := 3
	want := &configs.Config{
		Rootfs:         filepath.Join(bundle, "rootfs"),
		ReadonlyRootfs: true,
		Hostname:       "box",
		Domainname:     "example.org",
		Namespaces: []configs.Namespace{{Type: configs.NEWNS}, {Type: configs.NEWUTS}, {Type: configs.NEWUSER},
			{Type: configs.NEWTIME}, {Type: configs.NEWNET, Path: "/proc/self/ns/net"}},
		UIDMappings: []configs.IDMap{{ContainerID: 0, HostID: 1000, Size: 1}},
		GIDMappings: []configs.IDMap{{ContainerID: 0, HostID: 2000, Size: 10}},
		TimeOffsets: map[string]configs.TimeOffset{"monotonic": {Secs: 10, Nanosecs: 5}},
		Devices: []configs.Device{
			{Path: "/dev/fuse", Type: 'c', Major: 10, Minor: 229, FileMode: 0o666},
			{Path: "/dev/sda", Type: 'b', Major: 8, FileMode: 0o660, UID: 3, GID: 4},
			{Path: "/dev/fifo", Type: 'p', FileMode: 0o666},
		},
		MaskedPaths:   []string{"/proc/kcore"},
		ReadonlyPaths: []string{"/proc/sys"},
		CgroupsPath:   "/husk/c1",
		Hooks: configs.Hooks{
			Prestart: []configs.Hook{{Path: "/bin/true", Args: []string{"true"}, Timeout: &timeout}},
			Poststop: []configs.Hook{{Path: "/bin/false"}},
		},
		Process:     &configs.Process{Args: []string{"sh"}, Cwd: "/"},
		Annotations: map[string]string{"a": "b"},
		OCIVersion:  "1.3.0",
	}
	if real, err := filepath.EvalSymlinks(want.Rootfs); err == nil {
		want.Rootfs = real
	}
	if !reflect.DeepEqual(config, want) {
		t.Fatalf("config\n got %+v\nwant %+v", config, want)
	}
	if !config.HasNewNamespace(configs.NEWUSER) || config.HasNewNamespace(configs.NEWNET) {
		t.Fatal("namespace paths lost in conversion")
	}
}

func TestConvertRejectsInvalid(t *testing.T) {
	bundle := newBundle(t)
	writeConfig(t, bundle, patchedConfig(t, `{"process": {"args": []}}`))
	spec, err := LoadSpec(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Convert(spec, bundle); err == nil || err.Error() != "process.args: must not be empty" {
		t.Fatalf("Convert = %v, want the validation error", err)
	}
}

func TestCapabilityTable(t *testing.T) {
	names := CapabilityNames()
	if len(names) != unix.CAP_LAST_CAP+1 {
		t.Fatalf("%d capability names, want %d (CAP_CHOWN..CAP_LAST_CAP)", len(names), unix.CAP_LAST_CAP+1)
	}
	for want, name := range names {
		number, ok := CapabilityNumber(name)
		if !ok || number != want {
			t.Errorf("CapabilityNumber(%q) = %d, %v; want %d (table order is kernel order)", name, number, ok, want)
		}
	}
	for _, name := range []string{"CHOWN", "cap_chown", "CAP_FOO", ""} {
		if _, ok := CapabilityNumber(name); ok {
			t.Errorf("CapabilityNumber(%q) accepted", name)
		}
	}
}

func TestRlimitTable(t *testing.T) {
	names := RlimitNames()
	// Linux has 16 rlimits (RLIM_NLIMITS), RLIMIT_CPU=0 to RLIMIT_RTTIME=15.
	if len(names) != unix.RLIMIT_RTTIME+1 {
		t.Fatalf("%d rlimit names, want %d", len(names), unix.RLIMIT_RTTIME+1)
	}
	for want, name := range names {
		if number, ok := RlimitNumber(name); !ok || number != want {
			t.Errorf("RlimitNumber(%q) = %d, %v; want %d", name, number, ok, want)
		}
	}
	if n, ok := RlimitNumber("RLIMIT_NOFILE"); !ok || n != unix.RLIMIT_NOFILE {
		t.Errorf("RLIMIT_NOFILE = %d, %v", n, ok)
	}
}

func TestMountOptionNames(t *testing.T) {
	names := MountOptionNames()
	if !sort.StringsAreSorted(names) {
		t.Fatal("MountOptionNames is not sorted")
	}
	for _, want := range []string{"ro", "rbind", "rslave", "rro", "rnoatime", "nosymfollow"} {
		if !slices.Contains(names, want) {
			t.Errorf("MountOptionNames lacks %q", want)
		}
	}
	for _, name := range names {
		decoded, err := parseMountOptions(mountOptionTable(), "mounts[0].options", []string{name})
		if err != nil || len(decoded.data) != 0 {
			t.Errorf("listed option %q is not interpreted: %+v, %v", name, decoded, err)
		}
	}
	for _, name := range []string{"idmap", "tmpcopyup", "mode=755"} {
		if slices.Contains(names, name) {
			t.Errorf("MountOptionNames lists %q, which husk does not interpret", name)
		}
	}
}

func TestWarningsForResources(t *testing.T) {
	spec := Example()
	if w := Warnings(spec); len(w) != 0 {
		t.Fatalf("warnings for a spec without resources: %q", w)
	}
	spec.Process.Capabilities.Bounding = append(spec.Process.Capabilities.Bounding, "CAP_MKNOD")
	if w := Warnings(spec); len(w) != 1 || !strings.Contains(w[0], "linux.resources") {
		t.Fatalf("with CAP_MKNOD the unenforced deny-all device rule must warn: %q", w)
	}
	spec.Process.Capabilities.Bounding = spec.Process.Capabilities.Bounding[:len(spec.Process.Capabilities.Bounding)-1]
	limit := int64(1 << 20)
	spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
	if w := Warnings(spec); len(w) != 1 || !strings.Contains(w[0], "linux.resources") {
		t.Fatalf("warnings = %q, want one naming linux.resources", w)
	}
	spec.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.PIDNamespace}}
	if w := Warnings(spec); len(w) != 2 || !strings.Contains(w[0], "no mount namespace") {
		t.Fatalf("warnings = %q, want the mount namespace one first", w)
	}
	spec.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}}
	spec.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActErrno}
	if w := Warnings(spec); len(w) != 2 || !strings.Contains(w[0], "WITHOUT a seccomp filter") {
		t.Fatalf("warnings = %q, want the seccomp one first", w)
	}
}
