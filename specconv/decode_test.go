package specconv

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/huskrt/husk/internal/testutil"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var decodeCases = []string{
	`{}`,
	`null`,
	baseConfig,
	`{"ociVersion": "1.3.0", "linux": null}`,
	`{"linux": {}}`,
	`{"linux": {"resources": null, "seccomp": null, "intelRdt": null}}`,
	`{"linux": {"resources": {"memory": {"limit": 1048576}}, "cgroupsPath": "/a"}}`,
	// Duplicate members merge, whatever their case.
	`{"linux": {"resources": {"memory": {"limit": 1}}, "Resources": {"pids": {"limit": 5}}}}`,
	`{"linux": {"resources": {"memory": {"limit": 1}}, "resources": null, "resources": {"pids": {"limit": 5}}}}`,
	`{"linux": {"sysctl": {"a": "b"}}, "LINUX": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}}}`,
	`{"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}}}`,
	`{"linux": {"netDevices": {"eth0": {"name": "e"}}, "personality": {"domain": "LINUX32"}, "memoryPolicy": {"mode": "MPOL_BIND", "nodes": "0"}}}`,
	`{"windows": {"layerFolders": ["a"]}, "vm": {"hypervisor": {"path": "/h"}}, "solaris": {"milestone": "m"}, "zos": {}, "freebsd": {}}`,
	`{"process": {"args": ["sh"]}, "Process": {"cwd": "/"}}`,
	// Errors, in and outside the deferred members.
	`{"linux": {"resources": {"memory": {"limit": "x"}}}}`,
	`{"linux": {"seccomp": []}}`,
	`{"windows": 1}`,
	`{"hostname": 1, "linux": {"resources": {"pids": {"limit": "x"}}}}`,
	`{"linux": {"resources": {"pids": {"limit": "x"}}}, "hostname": 1}`,
	`{"linux": 1}`,
	`{"linux": {"resources": `,
	// A later null drops what an earlier "linux" deferred, errors included.
	`{"linux": {"resources": {"memory": {"limit": "x"}}}, "linux": null}`,
	`{"linux": {"seccomp": 7}, "Linux": null, "linux": {}}`,
	`{"linux": {"resources": {"pids": {"limit": 5}}}, "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}}}`,
}

// checkDecodeMatchesUnmarshal decodes data both ways and fails the test when
// the results or the errors differ.
func checkDecodeMatchesUnmarshal(t *testing.T, data []byte) {
	t.Helper()
	var want specs.Spec
	wantErr := json.Unmarshal(data, &want)
	got, gotErr := decodeSpec(data)
	if wantErr != nil || gotErr != nil {
		if wantErr == nil || gotErr == nil || wantErr.Error() != gotErr.Error() {
			t.Fatalf("%s:\n decodeSpec error %v\n  Unmarshal error %v", data, gotErr, wantErr)
		}
		return
	}
	if !reflect.DeepEqual(got, &want) {
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(&want)
		t.Fatalf("%s:\n decodeSpec %s\n  Unmarshal %s", data, gotJSON, wantJSON)
	}
}

func TestDecodeMatchesUnmarshal(t *testing.T) {
	for _, doc := range decodeCases {
		checkDecodeMatchesUnmarshal(t, []byte(doc))
	}
	example, err := json.Marshal(Example())
	if err != nil {
		t.Fatal(err)
	}
	checkDecodeMatchesUnmarshal(t, example)
}

// FuzzDecodeSpec: for any input, decodeSpec (the fast decoder, then
// encoding/json) gives what json.Unmarshal into a specs.Spec gives.
func FuzzDecodeSpec(f *testing.F) {
	for _, doc := range decodeCases {
		f.Add([]byte(doc))
	}
	var full specs.Spec
	testutil.FillAll(reflect.ValueOf(&full).Elem(), plainString)
	if data, err := json.Marshal(&full); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecodeMatchesUnmarshal(t, data)
	})
}

// TestFastDecodeCoversEveryField: a config with every member of the
// runtime-spec set is decoded by the fast decoder itself (it must not
// decline) into exactly what json.Unmarshal gives. A member added to
// runtime-spec that the fast decoder skipped as unknown fails here.
func TestFastDecodeCoversEveryField(t *testing.T) {
	var full specs.Spec
	testutil.FillAll(reflect.ValueOf(&full).Elem(), plainString)
	data, err := json.Marshal(&full)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeFast(data)
	if err != nil {
		t.Fatalf("the fast decoder declined a complete config: %v", err)
	}
	var want specs.Spec
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, &want) {
		gotJSON, _ := json.Marshal(got)
		t.Fatalf("fast decoder:\n%s\njson.Unmarshal:\n%s", gotJSON, data)
	}
	// The ordinary configs husk gets must take the fast path too.
	for _, doc := range []string{baseConfig, `{}`} {
		if _, err := decodeFast([]byte(doc)); err != nil {
			t.Errorf("the fast decoder declined %.60q: %v", doc, err)
		}
	}
}

// TestFastDecodeLargeObjects: a map member with many keys is decoded by
// the fast decoder (no per-key duplicate search: the last wins, as with
// encoding/json); a struct member with more members than any spec type
// has fields is left to encoding/json, whose cost is linear.
func TestFastDecodeLargeObjects(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"annotations": {`)
	for i := range 20000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%07d": "v"`, i)
	}
	b.WriteString(`, "k0000001": "last wins"}}`)
	spec, err := decodeFast([]byte(b.String()))
	if err != nil {
		t.Fatalf("the fast decoder declined a large annotations map: %v", err)
	}
	if len(spec.Annotations) != 20000 || spec.Annotations["k0000001"] != "last wins" {
		t.Fatalf("annotations: %d keys, k0000001 = %q", len(spec.Annotations), spec.Annotations["k0000001"])
	}
	checkDecodeMatchesUnmarshal(t, []byte(b.String()))

	b.Reset()
	b.WriteString(`{"process": {`)
	for i := range maxStructMembers + 1 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"unknown%d": 1`, i)
	}
	b.WriteString(`}}`)
	if _, err := decodeFast([]byte(b.String())); err == nil {
		t.Fatal("the fast decoder took a struct object with more members than maxStructMembers")
	}
	checkDecodeMatchesUnmarshal(t, []byte(b.String()))
}

// plainString gives FillAll strings the fast decoder takes as they are
// (member names and map keys must be plain ASCII for it).
func plainString(depth int) string { return "s" + strconv.Itoa(depth) }
