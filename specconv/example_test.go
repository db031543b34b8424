package specconv

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestExampleRoundTrip(t *testing.T) {
	for name, spec := range map[string]*specs.Spec{"default": Example(), "rootless": rootlessExample()} {
		t.Run(name, func(t *testing.T) {
			bundle := newBundle(t)
			if err := WriteSpec(bundle, spec); err != nil {
				t.Fatalf("WriteSpec: %v", err)
			}
			loaded, err := LoadSpec(bundle)
			if err != nil {
				t.Fatalf("LoadSpec: %v", err)
			}
			if !reflect.DeepEqual(loaded, spec) {
				t.Fatalf("round trip changed the spec\n got %+v\nwant %+v", loaded, spec)
			}
			if err := Validate(loaded, bundle); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			config, err := Convert(loaded, bundle)
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			if config.Hostname != ExampleHostname || config.OCIVersion != specs.Version {
				t.Fatalf("hostname %q, version %q", config.Hostname, config.OCIVersion)
			}
		})
	}
}

func rootlessExample() *specs.Spec {
	spec := Example()
	ToRootless(spec)
	return spec
}

func TestWriteSpecFormat(t *testing.T) {
	dir := t.TempDir()
	if err := WriteSpec(dir, Example()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("{\n\t\"ociVersion\": \"1.3.0\",\n\t\"process\": {\n\t\t\"terminal\": true,")) {
		t.Fatalf("not runc's tab-indented layout:\n%.80s", data)
	}
	if data[len(data)-1] != '}' {
		t.Fatalf("file ends with %q, runc writes no trailing newline", data[len(data)-1])
	}
}

func TestWriteSpecRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	writeConfig(t, dir, "keep me")
	err := WriteSpec(dir, Example())
	if err == nil || err.Error() != "File config.json exists. Remove it first" {
		t.Fatalf("WriteSpec = %v, want runc's refusal", err)
	}
	if !errors.Is(err, ErrConfigExists) {
		t.Fatalf("WriteSpec error %v is not ErrConfigExists", err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	if string(data) != "keep me" {
		t.Fatalf("existing config.json changed to %q", data)
	}
}

func TestToRootless(t *testing.T) {
	spec := Example()
	spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/x", Type: "tmpfs", Options: []string{"uid=5", "mode=700", "gid=6"}})
	ToRootless(spec)
	var types []specs.LinuxNamespaceType
	for _, ns := range spec.Linux.Namespaces {
		types = append(types, ns.Type)
	}
	wantTypes := []specs.LinuxNamespaceType{specs.PIDNamespace, specs.IPCNamespace, specs.UTSNamespace,
		specs.MountNamespace, specs.CgroupNamespace, specs.UserNamespace}
	if !reflect.DeepEqual(types, wantTypes) {
		t.Fatalf("namespaces %v, want %v", types, wantTypes)
	}
	wantUID := []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(os.Geteuid()), Size: 1}}
	wantGID := []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(os.Getegid()), Size: 1}}
	if !reflect.DeepEqual(spec.Linux.UIDMappings, wantUID) || !reflect.DeepEqual(spec.Linux.GIDMappings, wantGID) {
		t.Fatalf("mappings %v %v", spec.Linux.UIDMappings, spec.Linux.GIDMappings)
	}
	for _, mount := range spec.Mounts {
		switch mount.Destination {
		case "/sys":
			want := specs.Mount{Destination: "/sys", Type: "none", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
			if !reflect.DeepEqual(mount, want) {
				t.Errorf("/sys mount %+v", mount)
			}
		case "/dev/pts":
			if !reflect.DeepEqual(mount.Options, []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}) {
				t.Errorf("/dev/pts options %q", mount.Options)
			}
		case "/x":
			if !reflect.DeepEqual(mount.Options, []string{"mode=700"}) {
				t.Errorf("/x options %q", mount.Options)
			}
		}
	}
	if spec.Linux.Resources != nil {
		t.Error("cgroup resources kept")
	}
}

// TestExampleMatchesRunc compares Example with the installed runc's
// "runc spec" output, minus the differences Example documents.
func TestExampleMatchesRunc(t *testing.T) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc is not installed; nothing to compare with")
	}
	for _, rootless := range []bool{false, true} {
		name := map[bool]string{false: "default", true: "rootless"}[rootless]
		t.Run(name, func(t *testing.T) {
			runcDir, ourDir := t.TempDir(), t.TempDir()
			args := []string{"spec"}
			spec := Example()
			if rootless {
				args = append(args, "--rootless")
				ToRootless(spec)
			}
			cmd := exec.Command(runc, args...)
			cmd.Dir = runcDir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("runc spec: %v: %s", err, out)
			}
			if err := WriteSpec(ourDir, spec); err != nil {
				t.Fatal(err)
			}
			want := readJSON(t, filepath.Join(runcDir, ConfigFile))
			got := readJSON(t, filepath.Join(ourDir, ConfigFile))
			adjustRuncExample(want, rootless)
			if !reflect.DeepEqual(got, want) {
				gotText, _ := json.MarshalIndent(got, "", " ")
				wantText, _ := json.MarshalIndent(want, "", " ")
				t.Fatalf("Example differs from runc spec\n got %s\nwant %s", gotText, wantText)
			}
		})
	}
}

// adjustRuncExample applies to runc's default spec the changes Example
// makes on purpose: husk's hostname and spec version, no inheritable or
// ambient capabilities, and a cgroup namespace (before the user namespace
// that the rootless variant appends last).
func adjustRuncExample(spec map[string]any, rootless bool) {
	spec["hostname"] = ExampleHostname
	spec["ociVersion"] = specs.Version
	caps := spec["process"].(map[string]any)["capabilities"].(map[string]any)
	delete(caps, "ambient")
	delete(caps, "inheritable")
	linux := spec["linux"].(map[string]any)
	namespaces := linux["namespaces"].([]any)
	cgroup := map[string]any{"type": "cgroup"}
	if rootless {
		last := namespaces[len(namespaces)-1]
		namespaces = append(namespaces[:len(namespaces)-1], cgroup, last)
	} else {
		namespaces = append(namespaces, cgroup)
	}
	linux["namespaces"] = namespaces
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}
