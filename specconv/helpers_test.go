package specconv

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// baseConfig is the smallest config.json that passes Validate in a bundle
// made by newBundle. Table rows patch it (JSON merge patch, RFC 7386).
const baseConfig = `{
	"ociVersion": "1.3.0",
	"process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
	"root": {"path": "rootfs"},
	"linux": {"namespaces": [
		{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "ipc"}, {"type": "network"}
	]}
}`

// newBundle makes a bundle directory with an empty rootfs/ and, for rows
// that need one, a plain file "afile" and a directory "adir".
func newBundle(t testing.TB) string {
	t.Helper()
	bundle := t.TempDir()
	for _, dir := range []string{"rootfs", "adir"} {
		if err := os.Mkdir(filepath.Join(bundle, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bundle, "afile"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return bundle
}

// writeConfig writes config.json text into bundle.
func writeConfig(t testing.TB, bundle, config string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(bundle, ConfigFile), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
}

// patchedConfig applies a JSON merge patch to baseConfig.
func patchedConfig(t testing.TB, patch string) string {
	t.Helper()
	var base, change any
	if err := json.Unmarshal([]byte(baseConfig), &base); err != nil {
		t.Fatalf("base config: %v", err)
	}
	if err := json.Unmarshal([]byte(patch), &change); err != nil {
		t.Fatalf("patch %s: %v", patch, err)
	}
	out, err := json.Marshal(mergePatch(base, change))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// mergePatch implements RFC 7386: objects merge member by member, null
// deletes a member, anything else replaces.
func mergePatch(target, patch any) any {
	patchObject, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	targetObject, ok := target.(map[string]any)
	if !ok {
		targetObject = map[string]any{}
	}
	for name, value := range patchObject {
		if value == nil {
			delete(targetObject, name)
			continue
		}
		targetObject[name] = mergePatch(targetObject[name], value)
	}
	return targetObject
}
