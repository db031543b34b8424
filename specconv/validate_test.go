package specconv

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

// nsBase is baseConfig's namespace list, for rows that extend it.
const nsBase = `{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "ipc"}, {"type": "network"}`

const userNS = `{"linux": {"namespaces": [` + nsBase + `, {"type": "user"}],
	"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
	"gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]`

// validateCases maps a merge patch of baseConfig to the exact error
// Validate must return ("" for configs that must pass). $BUNDLE stands for
// the bundle directory.
var validateCases = []struct {
	name  string
	patch string
	want  string
}{
	{"base config is valid", `{}`, ""},
	{"version too new", `{"ociVersion": "2.0.0"}`, `ociVersion: unsupported version "2.0.0"`},
	{"version 1.4", `{"ociVersion": "1.4.0"}`, `ociVersion: unsupported version "1.4.0"`},
	{"version missing", `{"ociVersion": ""}`, `ociVersion: must be set`},
	{"version malformed", `{"ociVersion": "1.0"}`, `ociVersion: invalid version "1.0"`},
	{"version dev suffix", `{"ociVersion": "1.0.2-dev"}`, ""},
	{"version rc suffix", `{"ociVersion": "1.3.1-rc.1"}`, ""},
	{"process missing is allowed at create", `{"process": null}`, ""},
	{"args empty", `{"process": {"args": []}}`, `process.args: must not be empty`},
	{"args[0] empty", `{"process": {"args": [""]}}`, `process.args[0]: must not be empty`},
	{"cwd relative", `{"process": {"cwd": "tmp"}}`, `process.cwd: must be absolute`},
	{"env without =", `{"process": {"env": ["FOO"]}}`, `process.env[0]: "FOO" is not NAME=value`},
	{"env empty name", `{"process": {"env": ["A=1", "=x"]}}`, `process.env[1]: "=x" has an empty name`},
	{"unknown capability", `{"process": {"capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_FOO"]}}}`,
		`process.capabilities.bounding[2]: unknown capability "CAP_FOO"`},
	{"capability without prefix", `{"process": {"capabilities": {"ambient": ["chown"]}}}`,
		`process.capabilities.ambient[0]: unknown capability "chown"`},
	{"unknown rlimit", `{"process": {"rlimits": [{"type": "RLIMIT_X", "hard": 1, "soft": 1}]}}`,
		`process.rlimits[0].type: unknown rlimit "RLIMIT_X"`},
	{"soft above hard", `{"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1, "soft": 2}]}}`,
		`process.rlimits[0]: soft limit above hard limit`},
	{"duplicate rlimit", `{"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1, "soft": 1}, {"type": "RLIMIT_NOFILE", "hard": 2, "soft": 2}]}}`,
		`process.rlimits[1].type: duplicate rlimit "RLIMIT_NOFILE"`},
	{"oom score adj", `{"process": {"oomScoreAdj": 1001}}`, `process.oomScoreAdj: must be between -1000 and 1000`},
	{"console too wide", `{"process": {"terminal": true, "consoleSize": {"width": 70000, "height": 1}}}`,
		`process.consoleSize.width: must be at most 65535`},
	{"console size ignored without terminal", `{"process": {"consoleSize": {"width": 70000, "height": 1}}}`, ""},
	{"root missing", `{"root": null}`, `root: must be set`},
	{"root path missing", `{"root": {"path": "nope"}}`, `root.path: $BUNDLE/nope: no such directory`},
	{"root path is a file", `{"root": {"path": "afile"}}`, `root.path: $BUNDLE/afile: not a directory`},
	{"hostname without uts", `{"hostname": "c1", "linux": {"namespaces": [{"type": "mount"}]}}`,
		`hostname: requires a uts namespace`},
	{"hostname with joined uts", `{"hostname": "c1", "linux": {"namespaces": [{"type": "mount"}, {"type": "uts", "path": "/proc/self/ns/uts"}]}}`, ""},
	{"domainname too long", `{"domainname": "` + strings.Repeat("d", 65) + `"}`, `domainname: longer than 64 bytes`},
	{"hostname in new uts", `{"hostname": "c1", "domainname": "example"}`, ""},
	{"unknown namespace", `{"linux": {"namespaces": [` + nsBase + `, {"type": "foo"}]}}`,
		`linux.namespaces[5].type: unknown namespace type "foo"`},
	{"duplicate namespace", `{"linux": {"namespaces": [{"type": "mount"}, {"type": "uts"}, {"type": "ipc"}, {"type": "pid"}, {"type": "pid"}]}}`,
		`linux.namespaces[4]: duplicate namespace "pid"`},
	{"namespace path relative", `{"linux": {"namespaces": [{"type": "net", "path": "x"}]}}`,
		`linux.namespaces[0].type: unknown namespace type "net"`},
	{"namespace path not absolute", `{"linux": {"namespaces": [{"type": "network", "path": "proc/self/ns/net"}]}}`,
		`linux.namespaces[0].path: must be absolute`},
	{"namespace path missing", `{"linux": {"namespaces": [{"type": "network", "path": "/nonexistent/ns"}]}}`,
		`linux.namespaces[0].path: /nonexistent/ns: no such file`},
	{"namespace path wrong type", `{"linux": {"namespaces": [{"type": "pid", "path": "/proc/self/ns/net"}]}}`,
		`linux.namespaces[0].path: /proc/self/ns/net: not a pid namespace`},
	{"namespace path not nsfs", `{"linux": {"namespaces": [{"type": "ipc", "path": "$BUNDLE/afile"}]}}`,
		`linux.namespaces[0].path: $BUNDLE/afile: not a namespace file`},
	{"joined namespaces are fine", `{"linux": {"namespaces": [{"type": "mount"}, {"type": "network", "path": "/proc/self/ns/net"}, {"type": "ipc", "path": "/proc/self/ns/ipc"}]}}`, ""},
	{"no mount namespace shares the runtime's", `{"linux": {"namespaces": [{"type": "pid"}]}}`, ""},
	{"no linux section", `{"linux": null}`, ""},
	{"joined mount namespace", `{"linux": {"namespaces": [{"type": "pid"}, {"type": "mount", "path": "/proc/self/ns/mnt"}]}}`,
		`linux.namespaces[1].path: joining the runtime's own mount namespace is not allowed`},
	{"user namespace with mappings", userNS + `}}`, ""},
	{"user namespace without uid mappings", userNS + `, "uidMappings": null}}`,
		`linux.uidMappings: user namespace without mappings`},
	{"user namespace without gid mappings", userNS + `, "gidMappings": []}}`,
		`linux.gidMappings: user namespace without mappings`},
	{"mappings without user namespace", `{"linux": {"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}}`,
		`linux.uidMappings: mappings without a user namespace`},
	{"root uid not mapped", userNS + `, "uidMappings": [{"containerID": 1, "hostID": 1000, "size": 10}]}}`,
		`linux.uidMappings: container uid 0 is not mapped`},
	{"root gid not mapped", userNS + `, "gidMappings": [{"containerID": 5, "hostID": 1000, "size": 10}]}}`,
		`linux.gidMappings: container gid 0 is not mapped`},
	{"mapping of size zero", userNS + `, "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 0}]}}`,
		`linux.uidMappings[0].size: must not be zero`},
	{"overlapping mappings", userNS + `, "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}, {"containerID": 5, "hostID": 5000, "size": 10}]}}`,
		`linux.gidMappings[1]: overlaps linux.gidMappings[0]`},
	{"mapping overflows", userNS + `, "uidMappings": [{"containerID": 0, "hostID": 4294967295, "size": 2}]}}`,
		`linux.uidMappings[0]: range overflows 32-bit ids`},
	{"process uid not mapped", `{"process": {"user": {"uid": 70000}}, ` + userNS[1:] + `}}`,
		`process.user.uid: 70000 is not mapped in the user namespace`},
	{"additional gid not mapped", `{"process": {"user": {"additionalGids": [1, 70000]}}, ` + userNS[1:] + `}}`,
		`process.user.additionalGids[1]: 70000 is not mapped in the user namespace`},
	{"username wins over uid", `{"process": {"user": {"uid": 70000, "username": "nobody"}}, ` + userNS[1:] + `}}`, ""},
	{"mount destination relative", `{"mounts": [{"destination": "/a", "type": "tmpfs", "source": "tmpfs"}, {"destination": "b", "type": "tmpfs", "source": "tmpfs"}]}`,
		`mounts[1].destination: must be absolute`},
	{"mount option empty", `{"mounts": [{"destination": "/a", "type": "tmpfs", "options": ["ro", ""]}]}`,
		`mounts[0].options[1]: empty mount option`},
	{"mount option with comma", `{"mounts": [{"destination": "/a", "type": "tmpfs", "options": ["mode=755,uid=0"]}]}`,
		`mounts[0].options[0]: mount option "mode=755,uid=0" contains a comma`},
	{"mount option without name", `{"mounts": [{"destination": "/a", "type": "tmpfs", "options": ["=1"]}]}`,
		`mounts[0].options[0]: mount option "=1" has no name`},
	{"mount option control character", `{"mounts": [{"destination": "/a", "type": "tmpfs", "options": ["a\nb"]}]}`,
		`mounts[0].options[0]: mount option "a\nb" contains a control character`},
	{"idmap", `{"mounts": [{"destination": "/a", "type": "bind", "source": "adir", "options": ["rbind", "idmap"]}]}`,
		`mounts[0].options[1]: "idmap" is not supported yet`},
	{"tmpcopyup", `{"mounts": [{"destination": "/a", "type": "tmpfs", "options": ["tmpcopyup"]}]}`,
		`mounts[0].options[0]: "tmpcopyup" is not supported yet`},
	{"mount uid mappings", `{"mounts": [{"destination": "/a", "type": "bind", "source": "adir", "uidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]}]}`,
		`mounts[0].uidMappings: idmapped mounts are not supported yet`},
	{"mount without type", `{"mounts": [{"destination": "/a", "source": "tmpfs"}]}`,
		`mounts[0].type: must be set unless the mount is a bind mount`},
	{"bind without source", `{"mounts": [{"destination": "/a", "type": "none", "options": ["rbind"]}]}`,
		`mounts[0].source: must be set for a bind mount`},
	{"bind source missing", `{"mounts": [{"destination": "/a", "type": "bind", "source": "nosuch"}]}`,
		`mounts[0].source: $BUNDLE/nosuch: no such file or directory`},
	{"bind source relative to bundle", `{"mounts": [{"destination": "/a", "source": "adir", "options": ["bind"]}]}`, ""},
	{"mount over /proc/sys", `{"mounts": [{"destination": "/proc/sys", "type": "tmpfs", "source": "tmpfs"}]}`,
		`mounts[0].destination: mounting over /proc/sys is not allowed`},
	{"tmpfs on /proc", `{"mounts": [{"destination": "/proc/", "type": "tmpfs", "source": "tmpfs"}]}`,
		`mounts[0].destination: only procfs may be mounted on /proc`},
	{"lxcfs style proc file", `{"mounts": [{"destination": "/proc/meminfo", "type": "bind", "source": "afile"}]}`, ""},
	{"unknown options are data", `{"mounts": [{"destination": "/a", "type": "tmpfs", "options": ["size=1m", "huge=never", "x-custom"]}]}`, ""},
	{"net sysctl without network namespace", `{"linux": {"namespaces": [{"type": "mount"}], "sysctl": {"net.ipv4.ip_forward": "1"}}}`,
		`linux.sysctl["net.ipv4.ip_forward"]: requires a new network namespace`},
	{"net sysctl in host network namespace", `{"linux": {"namespaces": [{"type": "mount"}, {"type": "network", "path": "/proc/self/ns/net"}], "sysctl": {"net.core.somaxconn": "1"}}}`,
		`linux.sysctl["net.core.somaxconn"]: the joined network namespace is the host's`},
	{"ipc sysctl without ipc namespace", `{"linux": {"namespaces": [{"type": "mount"}], "sysctl": {"kernel.shmmax": "1"}}}`,
		`linux.sysctl["kernel.shmmax"]: requires a new ipc namespace`},
	{"mqueue sysctl in joined ipc namespace", `{"linux": {"namespaces": [{"type": "mount"}, {"type": "ipc", "path": "/proc/self/ns/ipc"}], "sysctl": {"fs.mqueue.msg_max": "1"}}}`,
		`linux.sysctl["fs.mqueue.msg_max"]: requires a new ipc namespace`},
	{"hostname sysctl without uts", `{"linux": {"namespaces": [{"type": "mount"}], "sysctl": {"kernel.hostname": "x"}}}`,
		`linux.sysctl["kernel.hostname"]: requires a uts namespace`},
	{"hostname sysctl and hostname", `{"hostname": "a", "linux": {"sysctl": {"kernel.hostname": "x"}}}`,
		`linux.sysctl["kernel.hostname"]: conflicts with hostname`},
	{"host sysctl", `{"linux": {"sysctl": {"vm.swappiness": "1"}}}`, `linux.sysctl["vm.swappiness"]: not a namespaced sysctl`},
	{"sysctl path escape", `{"linux": {"sysctl": {"net/../../x": "1"}}}`, `linux.sysctl["net/../../x"]: invalid sysctl name`},
	{"namespaced sysctls", `{"linux": {"sysctl": {"net.ipv4.ip_forward": "1", "net/ipv4/conf/eth0.100/forwarding": "1", "kernel.shm_rmid_forced": "1", "kernel.domainname": "x"}}}`, ""},
	{"time offsets without time namespace", `{"linux": {"timeOffsets": {"monotonic": {"secs": 1}}}}`,
		`linux.timeOffsets: requires a new time namespace`},
	{"unknown clock", `{"linux": {"namespaces": [` + nsBase + `, {"type": "time"}], "timeOffsets": {"realtime": {"secs": 1}}}}`,
		`linux.timeOffsets["realtime"]: unknown clock, must be "monotonic" or "boottime"`},
	{"nanoseconds overflow", `{"linux": {"namespaces": [` + nsBase + `, {"type": "time"}], "timeOffsets": {"boottime": {"nanosecs": 1000000000}}}}`,
		`linux.timeOffsets["boottime"].nanosecs: must be below 1000000000`},
	{"time offsets in time namespace", `{"linux": {"namespaces": [` + nsBase + `, {"type": "time"}], "timeOffsets": {"boottime": {"secs": -5, "nanosecs": 7}}}}`, ""},
	{"device type", `{"linux": {"devices": [{"path": "/dev/x", "type": "x", "major": 1, "minor": 3}]}}`,
		`linux.devices[0].type: unknown device type "x", must be c, b, u or p`},
	{"device path relative", `{"linux": {"devices": [{"path": "dev/x", "type": "c", "major": 1, "minor": 3}]}}`,
		`linux.devices[0].path: must be absolute`},
	{"device duplicate", `{"linux": {"devices": [{"path": "/dev/x", "type": "c", "major": 1, "minor": 3}, {"path": "/dev//x", "type": "c", "major": 1, "minor": 5}]}}`,
		`linux.devices[1].path: duplicate device "/dev/x"`},
	{"device major too big", `{"linux": {"devices": [{"path": "/dev/x", "type": "b", "major": 4096, "minor": 3}]}}`,
		`linux.devices[0].major: must be at most 4095`},
	{"device minor negative", `{"linux": {"devices": [{"path": "/dev/x", "type": "u", "major": 1, "minor": -1}]}}`,
		`linux.devices[0].minor: must not be negative`},
	{"fifo numbers are ignored", `{"linux": {"devices": [{"path": "/dev/x", "type": "p", "major": 1}]}}`, ""},
	{"device mode type bits", `{"linux": {"devices": [{"path": "/dev/x", "type": "c", "major": 1, "minor": 3, "fileMode": 8630}]}}`,
		`linux.devices[0].fileMode: must only hold permission bits (at most 07777)`},
	{"rootfs propagation", `{"linux": {"rootfsPropagation": "rbogus"}}`, `linux.rootfsPropagation: unknown propagation "rbogus"`},
	{"rootfs propagation rslave", `{"linux": {"rootfsPropagation": "rslave"}}`, ""},
	{"masked path relative", `{"linux": {"maskedPaths": ["/proc/kcore", "proc/keys"]}}`, `linux.maskedPaths[1]: must be absolute`},
	{"readonly path relative", `{"linux": {"readonlyPaths": ["sys"]}}`, `linux.readonlyPaths[0]: must be absolute`},
	{"hook path relative", `{"hooks": {"poststop": [{"path": "/bin/true"}, {"path": "true"}]}}`, `hooks.poststop[1].path: must be absolute`},
	{"hook timeout zero", `{"hooks": {"createRuntime": [{"path": "/bin/true", "timeout": 0}]}}`, `hooks.createRuntime[0].timeout: must be greater than zero`},
	{"empty annotation key", `{"annotations": {"": "x"}}`, `annotations[""]: key must not be empty`},
	{"resources are accepted (with a warning)", `{"linux": {"resources": {"memory": {"limit": 1}}}}`, ""},
	{"seccomp is accepted (with a warning)", `{"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO"}}}`, ""},
	{"apparmor is refused", `{"process": {"apparmorProfile": "p"}}`, `process.apparmorProfile: AppArmor is not supported by this build of husk`},
	{"selinux label is refused", `{"process": {"selinuxLabel": "l"}}`, `process.selinuxLabel: SELinux is not supported by this build of husk`},
	{"mount label is refused", `{"linux": {"mountLabel": "l"}}`, `linux.mountLabel: SELinux is not supported by this build of husk`},
	{"personality is refused", `{"linux": {"personality": {"domain": "LINUX"}}}`, `linux.personality: not supported yet`},
}

func TestValidateTable(t *testing.T) {
	for _, tc := range validateCases {
		t.Run(tc.name, func(t *testing.T) {
			bundle := newBundle(t)
			patch := strings.ReplaceAll(tc.patch, "$BUNDLE", bundle)
			writeConfig(t, bundle, patchedConfig(t, patch))
			spec, err := LoadSpec(bundle)
			if err != nil {
				t.Fatalf("LoadSpec: %v", err)
			}
			err = Validate(spec, bundle)
			want := strings.ReplaceAll(tc.want, "$BUNDLE", bundle)
			switch {
			case want == "" && err != nil:
				t.Fatalf("Validate: unexpected error %q", err)
			case want != "" && err == nil:
				t.Fatalf("Validate: no error, want %q", want)
			case want != "" && err.Error() != want:
				t.Fatalf("Validate:\n got %q\nwant %q", err, want)
			}
			if err != nil {
				var specErr *Error
				if !errors.As(err, &specErr) {
					t.Fatalf("error %T is not an *Error", err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("error is not one line: %q", err)
				}
			}
		})
	}
}

func TestValidateErrorsWrapCause(t *testing.T) {
	bundle := newBundle(t)
	writeConfig(t, bundle, patchedConfig(t, `{"root": {"path": "missing"}}`))
	spec, err := LoadSpec(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(spec, bundle); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Validate = %v, want an error wrapping fs.ErrNotExist", err)
	}
}

func TestValidateNilSpec(t *testing.T) {
	if err := Validate(nil, t.TempDir()); err == nil {
		t.Fatal("Validate(nil) passed")
	}
}
