package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// runtime is one program the bench measures.
type runtime struct {
	// name labels the results ("husk", "runc", "crun", "crun-nocg", "floor").
	name string
	path string
	// globalArgs go before the command (e.g. --root).
	globalArgs []string
	// floor is not an OCI runtime but the cheapest way to start /bin/true
	// in new namespaces: `run` only, for scale.
	floor bool
	// sameBinary marks a second configuration of a binary already listed:
	// its `--version` is not measured twice.
	sameBinary bool
}

// ociCommand is the argv of an OCI runtime command such as create or run.
func (r runtime) ociCommand(args ...string) []string {
	argv := append([]string{r.path}, r.globalArgs...)
	return append(argv, args...)
}

// findRuntimes lists husk and those of runc and crun that are installed,
// each with a private --root in workDir. crun also runs with cgroups
// disabled ("crun-nocg"), which is what husk does today (it applies no
// cgroup yet), so that the comparison without cgroup work is in the table.
func findRuntimes(opts options, workDir string) ([]runtime, error) {
	husk, err := filepath.Abs(opts.husk)
	if err != nil {
		return nil, fmt.Errorf("husk path: %w", err)
	}
	if _, err := os.Stat(husk); err != nil {
		return nil, fmt.Errorf("husk binary: %w (run 'make husk')", err)
	}
	stateRoot := func(name string) string { return filepath.Join(workDir, "state-"+name) }
	list := []runtime{{name: "husk", path: husk, globalArgs: []string{"--root", stateRoot("husk")}}}
	if p := lookPathOrEmpty(opts.runc); p != "" {
		list = append(list, runtime{name: "runc", path: p, globalArgs: []string{"--root", stateRoot("runc")}})
	} else {
		fmt.Fprintf(os.Stderr, "bench: %s not found; runc is left out\n", opts.runc)
	}
	if p := lookPathOrEmpty(opts.crun); p != "" {
		list = append(list,
			runtime{name: "crun", path: p, globalArgs: []string{"--root", stateRoot("crun")}},
			runtime{name: "crun-nocg", path: p, globalArgs: []string{"--root", stateRoot("crun-nocg"), "--cgroup-manager=disabled"}, sameBinary: true})
	} else {
		fmt.Fprintf(os.Stderr, "bench: %s not found; crun is left out\n", opts.crun)
	}
	if p := lookPathOrEmpty("unshare"); p != "" {
		list = append(list, runtime{name: "floor", path: p, floor: true})
	}
	return list, nil
}

// describeArgs says how the runtime is invoked beyond its private --root.
func (r runtime) describeArgs() string {
	if r.floor {
		return "--fork --pid --mount --uts --ipc --net --mount-proc chroot ROOTFS /bin/true"
	}
	var extra []string
	for i := 0; i < len(r.globalArgs); i++ {
		if r.globalArgs[i] == "--root" {
			i++
			continue
		}
		extra = append(extra, r.globalArgs[i])
	}
	return strings.Join(extra, " ")
}

// versionLine is the first line of `RUNTIME --version`.
func versionLine(path string) string {
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}

// bundle is the OCI bundle all runtimes run; config.json is rewritten
// before every container, with only linux.cgroupsPath changed.
type bundle struct {
	dir    string
	rootfs string
	config map[string]any
	// tag makes this bench run's cgroup names unique.
	tag string
}

// makeBundle builds the busybox bundle with tests/bundle/mkbundle.sh
// (process.args ["/bin/true"], terminal false).
func makeBundle(opts options, workDir string) (*bundle, error) {
	husk, err := filepath.Abs(opts.husk)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(workDir, "bundle")
	cmd := exec.Command(opts.mkbundle, dir, "/bin/true")
	cmd.Env = append(os.Environ(), "HUSK="+husk)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s /bin/true: %w: %s", opts.mkbundle, dir, err, stderr.String())
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("read bundle config: %w", err)
	}
	var config map[string]any
	if err := json.Unmarshal(data, &config); err != nil {
		return nil, fmt.Errorf("parse bundle config: %w", err)
	}
	// crun 1.8 (Debian 12) rejects ociVersion 1.3.0 ("unknown version
	// specified"); every runtime here accepts 1.0.2, and the bundle uses
	// nothing newer.
	config["ociVersion"] = "1.0.2"
	if _, ok := config["linux"].(map[string]any); !ok {
		return nil, fmt.Errorf("bundle config has no linux section")
	}
	return &bundle{dir: dir, rootfs: filepath.Join(dir, "rootfs"), config: config, tag: benchTag(workDir)}, nil
}

// benchTag is the random part of the work dir's name.
func benchTag(workDir string) string {
	return "b" + strings.TrimPrefix(filepath.Base(workDir), "husk-bench.")
}

// useCgroupsPath rewrites config.json with the given linux.cgroupsPath.
func (b *bundle) useCgroupsPath(path string) error {
	b.config["linux"].(map[string]any)["cgroupsPath"] = path
	data, err := json.MarshalIndent(b.config, "", "\t")
	if err != nil {
		return fmt.Errorf("encode bundle config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, "config.json"), data, 0o644); err != nil {
		return fmt.Errorf("write bundle config: %w", err)
	}
	return nil
}
