package specconv

import (
	"encoding/json"
	"errors"
	"io/fs"
	"testing"
)

func TestLoadSpecErrors(t *testing.T) {
	cases := []struct {
		name   string
		config string
		want   string
	}{
		{"syntax error line", "{\n\t\"ociVersion\": \"1.3.0\",\n\t\"process\": {\n\t\t\"args\": [\"sh\",]\n\t}\n}",
			`config.json: line 4: invalid character ']' looking for beginning of value`},
		{"truncated", "{\n\"ociVersion\": \"1.3.0\"", `config.json: line 2: unexpected end of JSON input`},
		{"empty file", "", `config.json: line 1: unexpected end of JSON input`},
		{"trailing garbage", "{}\n}", `config.json: line 2: invalid character '}' after top-level value`},
		{"uid as string", `{"process": {"user": {"uid": "0"}}}`,
			`config.json: process.user.uid: cannot unmarshal string into uint32`},
		{"negative gid", `{"process": {"user": {"gid": -1}}}`,
			`config.json: process.user.gid: cannot unmarshal number -1 into uint32`},
		{"array element", `{"process": {"args": ["sh", 1]}}`,
			`config.json: process.args[1]: cannot unmarshal number into string`},
		{"nested array element", `{"mounts": [{"destination": "/a"}, {"destination": "/b", "options": ["ro", {}]}]}`,
			`config.json: mounts[1].options[1]: cannot unmarshal object into string`},
		{"map value with dotted key", `{"linux": {"sysctl": {"net.ipv4.ip_forward": 1}}}`,
			`config.json: linux.sysctl["net.ipv4.ip_forward"]: cannot unmarshal number into string`},
		{"object expected", `{"process": {"user": [0]}}`,
			`config.json: process.user: cannot unmarshal array into object`},
		{"array expected", `{"linux": {"namespaces": {"type": "pid"}}}`,
			`config.json: linux.namespaces: cannot unmarshal object into array`},
		{"boolean expected", `{"root": {"path": "rootfs", "readonly": "yes"}}`,
			`config.json: root.readonly: cannot unmarshal string into boolean`},
		{"first type error wins", `{"hostname": 1, "process": {"args": [2]}}`,
			`config.json: hostname: cannot unmarshal number into string`},
		{"top level not an object", `[1]`, `config.json: cannot unmarshal array into object`},
		{"fraction", `{"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1.5}]}}`,
			`config.json: process.rlimits[0].hard: cannot unmarshal number 1.5 into uint64`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bundle := t.TempDir()
			writeConfig(t, bundle, tc.config)
			_, err := LoadSpec(bundle)
			if err == nil {
				t.Fatalf("LoadSpec passed, want %q", tc.want)
			}
			if err.Error() != tc.want {
				t.Fatalf("LoadSpec:\n got %q\nwant %q", err, tc.want)
			}
		})
	}
}

func TestLoadSpecKeepsJSONErrors(t *testing.T) {
	bundle := t.TempDir()
	writeConfig(t, bundle, `{"process": {"user": {"uid": "0"}}}`)
	_, err := LoadSpec(bundle)
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) {
		t.Fatalf("LoadSpec = %v, want it to wrap *json.UnmarshalTypeError", err)
	}
}

func TestLoadSpecMissingFile(t *testing.T) {
	_, err := LoadSpec(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadSpec = %v, want fs.ErrNotExist", err)
	}
}

// runtime-spec config.md (Extensibility): runtimes MUST ignore unknown
// properties and MUST NOT generate errors for them.
func TestLoadSpecIgnoresUnknownProperties(t *testing.T) {
	bundle := newBundle(t)
	writeConfig(t, bundle, `{
		"ociVersion": "1.3.0",
		"com.example.extension": {"anything": [1, 2]},
		"process": {"args": ["sh"], "cwd": "/", "futureField": true, "user": {"uid": 0, "gid": 0, "sid": 7}},
		"root": {"path": "rootfs", "overlay": "x"},
		"linux": {"namespaces": [{"type": "mount", "flags": 1}], "futureSection": {}}
	}`)
	spec, err := LoadSpec(bundle)
	if err != nil {
		t.Fatalf("LoadSpec: %v", err)
	}
	if err := Validate(spec, bundle); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestJSONPathAtFindsEveryValue(t *testing.T) {
	data := []byte(`{"a": [1, {"b.c": "x"}], "d": {"e": [[true]]}}`)
	// Offsets just past each scalar, as encoding/json reports them.
	cases := map[string]int64{
		"a[0]":            int64(len(`{"a": [1`)),
		`a[1]["b.c"]`:     int64(len(`{"a": [1, {"b.c": "x"`)),
		"d.e[0][0]":       int64(len(`{"a": [1, {"b.c": "x"}], "d": {"e": [[true`)),
		"d.e":             int64(len(`{"a": [1, {"b.c": "x"}], "d": {"e": [`)),
		"a[1]":            int64(len(`{"a": [1, {`)),
		"(not a value)-1": 3,
	}
	for want, offset := range cases {
		got, found := jsonPathAt(data, offset)
		if want == "(not a value)-1" {
			if found {
				t.Errorf("offset %d: found %q inside a key", offset, got)
			}
			continue
		}
		if !found || got != want {
			t.Errorf("offset %d: got %q (found %v), want %q", offset, got, found, want)
		}
	}
}
