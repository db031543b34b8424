package specconv

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzLoadAndValidate feeds arbitrary bytes as config.json through
// LoadSpec, Validate and Convert: none may panic, every error must be one
// line, and Convert must accept exactly what Validate accepts.
func FuzzLoadAndValidate(f *testing.F) {
	example, err := json.Marshal(Example())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(baseConfig))
	for _, tc := range validateCases {
		f.Add([]byte(patchedConfig(f, tc.patch)))
	}
	f.Add([]byte(`{"process": {"args": ["sh", 1]}}`))
	f.Add([]byte("{\n\"ociVersion\": \"1.3.0\""))

	bundle := newBundle(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		writeConfig(t, bundle, string(data))
		spec, err := LoadSpec(bundle)
		if err != nil {
			requireOneLine(t, "LoadSpec", err)
			return
		}
		validateErr := Validate(spec, bundle)
		if validateErr != nil {
			requireOneLine(t, "Validate", validateErr)
		}
		config, convertErr := Convert(spec, bundle)
		if convertErr != nil {
			requireOneLine(t, "Convert", convertErr)
		}
		if (validateErr == nil) != (convertErr == nil) {
			t.Fatalf("Validate = %v but Convert = %v", validateErr, convertErr)
		}
		if convertErr == nil && (config == nil || (config.Process == nil) != (spec.Process == nil)) {
			t.Fatal("Convert lost or invented the process")
		}
	})
}

func requireOneLine(t *testing.T, stage string, err error) {
	t.Helper()
	if text := err.Error(); text == "" || strings.ContainsAny(text, "\n\r") {
		t.Fatalf("%s error is not a single line: %q", stage, text)
	}
}
