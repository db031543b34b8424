package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestBadInputLeavesNothing: a create that cannot succeed exits non-zero
// with a one-line error and leaves no state entry, mount or process (the
// harness cleanup checks the last two).
func TestBadInputLeavesNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(h *harness, b *bundle)
	}{
		{"broken-json", func(h *harness, b *bundle) {
			h.t.Helper()
			b.write(h.t)
			data, _ := os.ReadFile(filepath.Join(b.dir, "config.json"))
			corrupt := strings.Replace(string(data), "{", "{bad", 1)
			if err := os.WriteFile(filepath.Join(b.dir, "config.json"), []byte(corrupt), 0o644); err != nil {
				h.t.Fatal(err)
			}
			b.spec = nil // keep the corrupt file
		}},
		{"missing-rootfs", func(h *harness, b *bundle) { b.spec.Root.Path = "no-such-rootfs" }},
		{"empty-args", func(h *harness, b *bundle) { b.spec.Process.Args = nil }},
		{"relative-cwd", func(h *harness, b *bundle) { b.spec.Process.Cwd = "tmp" }},
		{"bad-mount-type", func(h *harness, b *bundle) {
			b.addMount(specs.Mount{Destination: "/mnt/x", Type: "no-such-fs", Source: "none"})
		}},
		{"bad-mount-source", func(h *harness, b *bundle) {
			b.addMount(specs.Mount{Destination: "/mnt/x", Type: "bind", Source: filepath.Join(h.dir, "nope"), Options: []string{"bind"}})
		}},
		// runc 1.1.5 fails this case only on "one line": it prints three
		// (nsexec's fatal messages, then the error).
		{"bad-namespace-path", func(h *harness, b *bundle) {
			notNS := filepath.Join(h.dir, "not-a-namespace")
			if err := os.WriteFile(notNS, nil, 0o644); err != nil {
				h.t.Fatal(err)
			}
			b.setNamespace(specs.NetworkNamespace, notNS)
		}},
		{"missing-namespace-path", func(h *harness, b *bundle) {
			b.setNamespace(specs.UTSNamespace, filepath.Join(h.dir, "no-such-ns"))
		}},
		{"unknown-namespace-type", func(h *harness, b *bundle) {
			b.spec.Linux.Namespaces = append(b.spec.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
		}},
		// config-linux.md: MUST error when path is not a namespace of type.
		// runc 1.1.5 errors, but in three lines (as bad-namespace-path).
		{"namespace-path-of-other-type", func(h *harness, b *bundle) {
			b.setNamespace(specs.NetworkNamespace, "/proc/self/ns/uts")
		}},
		// config-linux.md: MUST error on duplicated namespace types.
		{"duplicate-namespace", func(h *harness, b *bundle) {
			b.spec.Linux.Namespaces = append(b.spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UTSNamespace})
		}},
		// config.md: MUST error on duplicated rlimit types. runc accepts
		// them (runc issue 5493), so this case fails on runc.
		{"duplicate-rlimit", func(h *harness, b *bundle) {
			b.spec.Process.Rlimits = append(b.spec.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Hard: 512, Soft: 512})
		}},
		{"unknown-rlimit", func(h *harness, b *bundle) {
			b.spec.Process.Rlimits = append(b.spec.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_BOGUS", Hard: 1, Soft: 1})
		}},
		{"net-sysctl-in-host-netns", func(h *harness, b *bundle) {
			b.dropNamespace(specs.NetworkNamespace)
			b.spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}},
		{"unknown-sysctl", func(h *harness, b *bundle) {
			b.spec.Linux.Sysctl = map[string]string{"kernel.no_such_knob_husk": "1"}
		}},
		{"failing-createRuntime-hook", func(h *harness, b *bundle) {
			b.spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/false"}}}
		}},
		{"failing-prestart-hook", func(h *harness, b *bundle) {
			b.spec.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "exit 3"}}}}
		}},
		{"failing-createContainer-hook", func(h *harness, b *bundle) {
			b.spec.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/false"}}}
		}},
		{"missing-hook-binary", func(h *harness, b *bundle) {
			b.spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/no/such/hook"}}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			b := h.newBundle()
			b.spec.Process.Args = []string{"sleep", "1000"}
			tc.mutate(h, b)
			r := h.createRaw(b)
			if r.Exit == 0 {
				t.Fatalf("create succeeded: %v", r)
			}
			if r.Exit < 0 {
				t.Fatalf("create did not finish: %v", r)
			}
			if lines := nonEmptyLines(r.Stderr); len(lines) != 1 {
				t.Errorf("want a one-line error on stderr, got %d lines:\n%s", len(lines), r.Stderr)
			}
			if _, err := os.Stat(filepath.Join(h.root, b.id)); !os.IsNotExist(err) {
				t.Errorf("state entry %s exists after failed create (stat err %v)", b.id, err)
			}
			if _, sr := h.state(b.id); sr.Exit == 0 {
				t.Errorf("state of the failed container succeeded: %v", sr)
			}
		})
	}
}

// TestCreateWithoutProcess: config.md makes process OPTIONAL for create
// and REQUIRED for start. runc refuses at create; a runtime that accepts
// it must then refuse start. Either way nothing may be left behind.
func TestCreateWithoutProcess(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	b.spec.Process = nil
	if r := h.create(b, cmdOpts{}); r.Exit != 0 {
		if _, sr := h.state(b.id); sr.Exit == 0 {
			t.Errorf("create failed (%s) but the container exists", strings.TrimSpace(r.Stderr))
		}
		return
	}
	if r := h.rt(cmdOpts{}, "start", b.id); r.Exit == 0 {
		t.Errorf("start of a container without a process succeeded: %v", r)
	}
	h.rtOK(cmdOpts{}, "delete", "-f", b.id)
}

// createRaw runs create without rewriting config.json when the test left
// its own (b.spec == nil).
func (h *harness) createRaw(b *bundle) result {
	h.t.Helper()
	if b.spec != nil {
		b.write(h.t)
	}
	h.track(b.id)
	return h.rt(cmdOpts{}, "create", "--bundle", b.dir, b.id)
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) != "" {
			out = append(out, line)
		}
	}
	return out
}

// TestLogJSONOnFailure: with --log FILE --log-format json a failing create
// exits 1 and writes JSON lines with level, msg and time to FILE; the error
// names what is wrong (the missing rootfs path).
func TestLogJSONOnFailure(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	b.spec.Root.Path = "missing-rootfs"
	b.write(t)
	h.track(b.id)
	logFile := filepath.Join(h.dir, "runtime.log")
	r := h.rt(cmdOpts{}, "--log", logFile, "--log-format", "json", "create", "--bundle", b.dir, b.id)
	if r.Exit != 1 {
		t.Errorf("exit = %d, want 1: %v", r.Exit, r)
	}
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatalf("log file: %v", err)
	}
	var errorMsgs []string
	for _, line := range nonEmptyLines(string(data)) {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Errorf("log line is not JSON: %q: %v", line, err)
			continue
		}
		for _, key := range []string{"level", "msg", "time"} {
			if _, ok := entry[key].(string); !ok {
				t.Errorf("log line has no string %q: %q", key, line)
			}
		}
		if entry["level"] == "error" {
			msg, _ := entry["msg"].(string)
			errorMsgs = append(errorMsgs, msg)
		}
	}
	if len(errorMsgs) == 0 {
		t.Fatalf("no level=error line in the log:\n%s", data)
	}
	if !strings.Contains(strings.Join(errorMsgs, "\n"), filepath.Join(b.dir, "missing-rootfs")) {
		t.Errorf("error does not name the rootfs path: %q", errorMsgs)
	}
}

// TestErrorNamesSpecField: husk's errors about config.json name the field
// at fault as a JSON path (root.path). This is husk's own contract:
// runc 1.1.5 (and 1.5) say "invalid rootfs: stat …" instead, so this test
// fails on runc.
func TestErrorNamesSpecField(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle()
	b.spec.Root.Path = "missing-rootfs"
	r := h.createRaw(b)
	if r.Exit != 1 {
		t.Errorf("exit = %d, want 1: %v", r.Exit, r)
	}
	mustContain(t, "create error", r.Stderr, "root.path")
}
