package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// TestSpecCommand: `spec` writes a usable config.json and refuses to
// overwrite one.
func TestSpecCommand(t *testing.T) {
	h := newHarness(t)
	dir := filepath.Join(h.dir, "spec")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h.rtOK(cmdOpts{}, "spec", "--bundle", dir)
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatalf("spec wrote no config.json: %v", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatalf("config.json is not a spec: %v", err)
	}
	if spec.Root == nil || spec.Root.Path != "rootfs" || spec.Process == nil || len(spec.Process.Args) == 0 || spec.Linux == nil {
		t.Errorf("spec lacks root/process/linux: %s", data)
	}
	r := h.rt(cmdOpts{}, "spec", "--bundle", dir)
	if r.Exit == 0 {
		t.Errorf("spec overwrote an existing config.json")
	}
	mustContain(t, "refusal", r.Stderr+r.Stdout, "config.json exists")
}

// TestFeaturesCommand: `features` prints the OCI features document.
func TestFeaturesCommand(t *testing.T) {
	h := newHarness(t)
	out := h.rtOK(cmdOpts{}, "features").Stdout
	var f features.Features
	if err := json.Unmarshal([]byte(out), &f); err != nil {
		t.Fatalf("features is not JSON: %v\n%s", err, out)
	}
	if f.OCIVersionMin == "" || f.OCIVersionMax == "" {
		t.Errorf("ociVersionMin/Max missing: %s", out)
	}
	for _, hook := range []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"} {
		if !contains(f.Hooks, hook) {
			t.Errorf("hooks lack %s: %v", hook, f.Hooks)
		}
	}
	for _, opt := range []string{"ro", "rbind", "nosuid", "rro"} {
		if !contains(f.MountOptions, opt) {
			t.Errorf("mountOptions lack %s", opt)
		}
	}
	if f.Linux == nil {
		t.Fatalf("no linux section: %s", out)
	}
	for _, ns := range []string{"pid", "network", "ipc", "uts", "mount", "user", "cgroup"} {
		if !contains(f.Linux.Namespaces, ns) {
			t.Errorf("namespaces lack %s: %v", ns, f.Linux.Namespaces)
		}
	}
	if !contains(f.Linux.Capabilities, "CAP_SYS_ADMIN") {
		t.Errorf("capabilities lack CAP_SYS_ADMIN")
	}
}
