package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Users and groups of the template rootfs; tests refer to them by these ids.
const (
	huskUID    = 1000
	huskGID    = 1000
	nobodyUID  = 65534
	wheelGID   = 10 // members: husk
	staffGID   = 50 // members: husk, nobody
	busyboxBin = "/bin/busybox"
)

const etcPasswd = `root:x:0:0:root:/root:/bin/sh
husk:x:1000:1000:husk:/home/husk:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`

const etcGroup = `root:x:0:
wheel:x:10:husk
staff:x:50:husk,nobody
husk:x:1000:
nogroup:x:65534:
`

// buildTemplateRootfs makes the busybox rootfs every bundle starts from.
func buildTemplateRootfs(dir string) error {
	dirs := map[string]os.FileMode{
		"": 0o755, "bin": 0o755, "dev": 0o755, "etc": 0o755, "home": 0o755,
		"home/husk": 0o755, "proc": 0o755, "sys": 0o755, "tmp": 0o1777,
		"root": 0o700, "run": 0o755, "var": 0o755, "mnt": 0o755,
	}
	for d, mode := range dirs {
		p := filepath.Join(dir, d)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", p, err)
		}
		// MkdirAll applies the umask; the modes here are part of the image.
		if err := os.Chmod(p, mode); err != nil {
			return fmt.Errorf("chmod %s: %w", p, err)
		}
	}
	if err := os.Chown(filepath.Join(dir, "home/husk"), huskUID, huskGID); err != nil {
		return fmt.Errorf("chown home: %w", err)
	}
	data, err := os.ReadFile(busyboxBin)
	if err != nil {
		return fmt.Errorf("busybox (install busybox-static): %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/busybox"), data, 0o755); err != nil {
		return fmt.Errorf("copy busybox: %w", err)
	}
	list, err := exec.Command(busyboxBin, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", applet)); err != nil {
			return fmt.Errorf("applet %s: %w", applet, err)
		}
	}
	files := map[string]string{"etc/passwd": etcPasswd, "etc/group": etcGroup, "etc/hostname": "template\n"}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// bundle is one OCI bundle: a copy of the template rootfs and a spec that
// the test edits before handing it to the runtime.
type bundle struct {
	id     string
	dir    string
	rootfs string
	spec   *specs.Spec
}

// newBundle copies the template rootfs and prepares the default spec.
func (h *harness) newBundle() *bundle {
	h.t.Helper()
	id := h.newID()
	dir := filepath.Join(h.dir, "bundle-"+fmt.Sprint(h.nextBundle))
	if err := os.Mkdir(dir, 0o755); err != nil {
		h.t.Fatalf("bundle dir: %v", err)
	}
	rootfs := filepath.Join(dir, "rootfs")
	// cp -a keeps modes, owners and symlinks; a copy (not hard links) so a
	// container writing to its rootfs cannot change the template.
	if out, err := exec.Command("cp", "-a", h.suite.template, rootfs).CombinedOutput(); err != nil {
		h.t.Fatalf("copy rootfs: %v: %s", err, out)
	}
	return &bundle{id: id, dir: dir, rootfs: rootfs, spec: defaultSpec(id, h.marker)}
}

// defaultSpec equals what `runc spec` prints (runc 1.5, cgroup v1 host),
// with terminal off, `true` as the process, the leftover marker in the
// environment, and the container's cgroup under the test-only parent.
func defaultSpec(id, marker string) *specs.Spec {
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	return &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: "rootfs", Readonly: true},
		Process: &specs.Process{
			Terminal: false,
			Args:     []string{"true"},
			Env: []string{
				"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				"TERM=xterm",
				marker,
			},
			Cwd:             "/",
			NoNewPrivileges: true,
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  append([]string(nil), caps...),
				Permitted: append([]string(nil), caps...),
				Effective: append([]string(nil), caps...),
			},
			Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
		},
		Hostname: "runc",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		Linux: &specs.Linux{
			CgroupsPath: cgroupTestParent + "/" + id,
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
				"/proc/scsi", "/sys/devices/virtual/tpm",
			},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace},
			},
		},
	}
}

// write stores the spec as the bundle's config.json.
func (b *bundle) write(t *testing.T) {
	t.Helper()
	data, err := json.MarshalIndent(b.spec, "", "\t")
	if err != nil {
		t.Fatalf("marshal spec: %v", err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, "config.json"), data, 0o644); err != nil {
		t.Fatalf("write config.json: %v", err)
	}
}

// shell makes the container run script with busybox sh.
func (b *bundle) shell(script string) *bundle {
	b.spec.Process.Args = []string{"sh", "-c", script}
	return b
}

// writable makes the root filesystem writable.
func (b *bundle) writable() *bundle {
	b.spec.Root.Readonly = false
	return b
}

// addMount appends m to the spec's mounts.
func (b *bundle) addMount(m specs.Mount) *bundle {
	b.spec.Mounts = append(b.spec.Mounts, m)
	return b
}

// bindDir bind-mounts a fresh host directory (created under the test dir)
// read-write at dest, for containers to leave results in.
func (h *harness) bindDir(b *bundle, name, dest string) string {
	h.t.Helper()
	host := filepath.Join(h.dir, name)
	if err := os.MkdirAll(host, 0o777); err != nil {
		h.t.Fatalf("mkdir %s: %v", host, err)
	}
	if err := os.Chmod(host, 0o777); err != nil {
		h.t.Fatalf("chmod %s: %v", host, err)
	}
	b.addMount(specs.Mount{Destination: dest, Type: "bind", Source: host, Options: []string{"rbind", "rw"}})
	return host
}

// setNamespace adds (or replaces) a namespace entry.
func (b *bundle) setNamespace(ns specs.LinuxNamespaceType, path string) *bundle {
	for i := range b.spec.Linux.Namespaces {
		if b.spec.Linux.Namespaces[i].Type == ns {
			b.spec.Linux.Namespaces[i].Path = path
			return b
		}
	}
	b.spec.Linux.Namespaces = append(b.spec.Linux.Namespaces, specs.LinuxNamespace{Type: ns, Path: path})
	return b
}

// dropNamespace removes a namespace entry: the container shares the host's.
func (b *bundle) dropNamespace(ns specs.LinuxNamespaceType) *bundle {
	var kept []specs.LinuxNamespace
	for _, n := range b.spec.Linux.Namespaces {
		if n.Type != ns {
			kept = append(kept, n)
		}
	}
	b.spec.Linux.Namespaces = kept
	return b
}

// dropMounts removes the mounts whose destination is one of dests.
func (b *bundle) dropMounts(dests ...string) *bundle {
	var kept []specs.Mount
	for _, m := range b.spec.Mounts {
		drop := false
		for _, d := range dests {
			drop = drop || m.Destination == d
		}
		if !drop {
			kept = append(kept, m)
		}
	}
	b.spec.Mounts = kept
	return b
}

// path is the host path of p inside the bundle's rootfs.
func (b *bundle) path(p string) string { return filepath.Join(b.rootfs, p) }

// specDevice builds a linux.devices entry.
func specDevice(path, typ string, major, minor int64, mode *os.FileMode, uid, gid *uint32) specs.LinuxDevice {
	return specs.LinuxDevice{Path: path, Type: typ, Major: major, Minor: minor, FileMode: mode, UID: uid, GID: gid}
}
