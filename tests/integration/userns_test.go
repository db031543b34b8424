package integration

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Two ranges, so a runtime that writes only the first line of the map
// fails: container root alone, then every other id up to nobody.
func testIDMappings() []specs.LinuxIDMapping {
	return []specs.LinuxIDMapping{
		{ContainerID: 0, HostID: 100000, Size: 1},
		{ContainerID: 1, HostID: 200001, Size: 65535},
	}
}

// hostID maps a container id to the host through mappings.
func hostID(mappings []specs.LinuxIDMapping, id uint32) (uint32, bool) {
	for _, m := range mappings {
		if id >= m.ContainerID && id-m.ContainerID < m.Size {
			return m.HostID + (id - m.ContainerID), true
		}
	}
	return 0, false
}

// userns puts b in a new user namespace with the given mappings (uid and
// gid alike) and chowns its rootfs so the container's ids own it, as an
// image unpacked for that mapping would be.
func (b *bundle) userns(t *testing.T, mappings []specs.LinuxIDMapping) *bundle {
	t.Helper()
	b.setNamespace(specs.UserNamespace, "")
	b.spec.Linux.UIDMappings = mappings
	b.spec.Linux.GIDMappings = mappings
	chownToMapping(t, b.rootfs, mappings)
	return b
}

func chownToMapping(t *testing.T, root string, mappings []specs.LinuxIDMapping) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		uid, okU := hostID(mappings, st.Uid)
		gid, okG := hostID(mappings, st.Gid)
		if !okU || !okG {
			return fmt.Errorf("%s: owner %d:%d is not mapped", path, st.Uid, st.Gid)
		}
		if err := os.Lchown(path, int(uid), int(gid)); err != nil {
			return err
		}
		// chown clears set-id bits and the mode of symlinks is fixed.
		if d.Type()&fs.ModeSymlink == 0 {
			return os.Chmod(path, info.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatalf("chown rootfs: %v", err)
	}
}

// parseIDMap reads /proc/PID/uid_map text into mappings.
func parseIDMap(t *testing.T, text string) []specs.LinuxIDMapping {
	t.Helper()
	var out []specs.LinuxIDMapping
	for _, line := range nonEmptyLines(text) {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("bad id map line %q", line)
		}
		var n [3]uint64
		for i := range f {
			v, err := strconv.ParseUint(f[i], 10, 32)
			if err != nil {
				t.Fatalf("bad id map line %q: %v", line, err)
			}
			n[i] = v
		}
		out = append(out, specs.LinuxIDMapping{ContainerID: uint32(n[0]), HostID: uint32(n[1]), Size: uint32(n[2])})
	}
	return out
}

func sameMappings(a, b []specs.LinuxIDMapping) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestUserNamespaceInside: the process is root inside, the maps are the
// configured ranges, and files of the mapped rootfs belong to it.
func TestUserNamespaceInside(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().writable().userns(t, testIDMappings())
	b.shell(`id -u; id -g; echo ---; cat /proc/self/uid_map; echo ---; cat /proc/self/gid_map; echo ---; ` +
		`stat -c '%u:%g' /home/husk /bin/busybox; touch /root/written && echo written`)
	out := h.runOK(b)
	parts := strings.Split(out, "---\n")
	if len(parts) != 4 {
		t.Fatalf("unexpected output:\n%s", out)
	}
	if got := strings.Fields(parts[0]); len(got) != 2 || got[0] != "0" || got[1] != "0" {
		t.Errorf("id inside = %q, want uid 0 gid 0", parts[0])
	}
	if got := parseIDMap(t, parts[1]); !sameMappings(got, testIDMappings()) {
		t.Errorf("uid_map inside = %v, want %v", got, testIDMappings())
	}
	if got := parseIDMap(t, parts[2]); !sameMappings(got, testIDMappings()) {
		t.Errorf("gid_map inside = %v, want %v", got, testIDMappings())
	}
	if got := nonEmptyLines(parts[3]); len(got) != 3 || got[0] != "1000:1000" || got[1] != "0:0" || got[2] != "written" {
		t.Errorf("ownership/write check inside = %q, want 1000:1000, 0:0, written", got)
	}
	info, err := os.Stat(b.path("root/written"))
	if err != nil {
		t.Fatalf("file written by the container: %v", err)
	}
	if st := info.Sys().(*syscall.Stat_t); st.Uid != 100000 || st.Gid != 100000 {
		t.Errorf("file written by container root is %d:%d on the host, want 100000:100000", st.Uid, st.Gid)
	}
}

// TestUserNamespaceHostView: from the host the container's process runs
// as the mapped host uid, and its user namespace is not the host's.
func TestUserNamespaceHostView(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().userns(t, testIDMappings())
	b.spec.Process.Args = []string{"sleep", "1000"}
	h.mustCreate(b)
	h.mustStart(b.id)
	st := h.waitStatus(b.id, specs.StateRunning, 5*time.Second)
	pid := strconv.Itoa(st.Pid)
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		key, val, _ := strings.Cut(line, ":")
		if key == "Uid" || key == "Gid" {
			if f := strings.Fields(val); len(f) != 4 || f[0] != "100000" || f[1] != "100000" {
				t.Errorf("%s of the container process on the host = %q, want 100000", key, val)
			}
		}
	}
	if nsOf(t, pid, "user") == nsOf(t, "self", "user") {
		t.Errorf("container shares the host user namespace")
	}
	uidMap, err := os.ReadFile("/proc/" + pid + "/uid_map")
	if err != nil {
		t.Fatal(err)
	}
	if got := parseIDMap(t, string(uidMap)); !sameMappings(got, testIDMappings()) {
		t.Errorf("uid_map seen from the host = %v, want %v", got, testIDMappings())
	}
}

// TestUserNamespaceNonRootUser: uid 1000 inside maps to 201000 outside.
func TestUserNamespaceNonRootUser(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().userns(t, testIDMappings())
	b.spec.Process.User = specs.User{UID: huskUID, GID: huskGID}
	b.spec.Process.Args = []string{"sleep", "1000"}
	h.mustCreate(b)
	h.mustStart(b.id)
	st := h.waitStatus(b.id, specs.StateRunning, 5*time.Second)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", st.Pid))
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "status", string(status), "Uid:\t201000\t201000\t201000\t201000", "Gid:\t201000\t201000\t201000\t201000")
}

// TestJoinUserNamespace: the container joins the user namespace of a host
// helper and creates its other namespaces in it. (util-linux unshare
// needs newuidmap for ranges, absent here: Go's clone does the mapping.)
// runc 1.1.5 wants the mappings repeated in the spec; they match here.
func TestJoinUserNamespace(t *testing.T) {
	h := newHarness(t)
	mapping := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 300000, Size: 65536}}
	idMap := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 300000, Size: 65536}}
	pid := strconv.Itoa(h.startHelper(&syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: idMap,
		GidMappings: idMap,
	}, "sleep", "1000"))
	b := h.newBundle()
	b.spec.Process.Args = []string{"sleep", "1000"}
	b.userns(t, mapping)
	b.setNamespace(specs.UserNamespace, "/proc/"+pid+"/ns/user")
	b.shell(`readlink /proc/self/ns/user; cat /proc/self/uid_map; id -u`)
	lines := nonEmptyLines(h.runOK(b))
	if len(lines) != 3 {
		t.Fatalf("unexpected output %q", lines)
	}
	if want := nsOf(t, pid, "user"); lines[0] != want {
		t.Errorf("user namespace = %s, want the helper's %s", lines[0], want)
	}
	if got := parseIDMap(t, lines[1]); !sameMappings(got, mapping) {
		t.Errorf("uid_map = %v, want %v", got, mapping)
	}
	if lines[2] != "0" {
		t.Errorf("id -u = %s, want 0", lines[2])
	}
}
