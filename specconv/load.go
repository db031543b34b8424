package specconv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ConfigFile is the name of the runtime-spec configuration inside a bundle.
const ConfigFile = "config.json"

// LoadSpec reads and decodes <bundleDir>/config.json. It only checks that
// the document is JSON of the right shape; call Validate (or Convert) to
// check the values.
//
// Unknown properties are ignored: runtime-spec 1.3 config.md
// ("Extensibility") says runtimes MAY log unknown properties but MUST
// otherwise ignore them and MUST NOT generate an error for them.
//
// Decoding errors are one line naming the file and the place:
// "config.json: line 12: invalid character ..." for syntax errors and
// "config.json: process.user.uid: cannot unmarshal string into uint32" for
// values of the wrong type.
func LoadSpec(bundleDir string) (*specs.Spec, error) {
	data, err := os.ReadFile(filepath.Join(bundleDir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("load spec: %w", err)
	}
	return parseSpec(data)
}

// parseSpec decodes config.json content; split from LoadSpec so the error
// formatting can be tested without files.
func parseSpec(data []byte) (*specs.Spec, error) {
	spec, err := decodeSpec(data)
	if err == nil {
		return spec, nil
	}

	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		line := 1 + bytes.Count(data[:clampOffset(syntaxErr.Offset, len(data))], []byte("\n"))
		return nil, fmt.Errorf("%s: line %d: %w", ConfigFile, line, syntaxErr)
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		path, found := jsonPathAt(data, typeErr.Offset)
		if !found {
			// encoding/json's own path lacks array indices and map keys
			// but is still better than nothing.
			path = typeErr.Field
		}
		return nil, fmt.Errorf("%s: %w", ConfigFile, &Error{
			Path: path,
			Msg:  fmt.Sprintf("cannot unmarshal %s into %s", typeErr.Value, jsonTypeName(typeErr.Type)),
			Err:  typeErr,
		})
	}
	return nil, fmt.Errorf("%s: %w", ConfigFile, err)
}

func clampOffset(offset int64, length int) int {
	if offset < 0 {
		return 0
	}
	if offset > int64(length) {
		return length
	}
	return int(offset)
}

// jsonTypeName names the JSON shape a Go type expects, so messages talk
// about "object" rather than "specs.Process".
func jsonTypeName(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Interface:
		return "value"
	default:
		// Numbers: the width tells the user the accepted range.
		return t.Kind().String()
	}
}

// jsonContainer is an object or array being walked by jsonPathAt.
type jsonContainer struct {
	path      string
	isObject  bool
	key       string // object member whose value comes next
	keyIsRead bool   // key holds a member name waiting for its value
	nextIndex int    // array element index of the next value
}

// jsonPathAt finds the JSON path of the value that encoding/json reported a
// type error at. UnmarshalTypeError.Offset points just past a scalar value,
// or just past the opening bracket of an object or array, which is exactly
// where a token decoder stands after reading that token.
func jsonPathAt(data []byte, offset int64) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []jsonContainer
	for {
		token, err := dec.Token()
		if err != nil {
			return "", false
		}
		delim, isDelim := token.(json.Delim)
		if isDelim && (delim == '}' || delim == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].isObject && !stack[n-1].keyIsRead {
			name, _ := token.(string)
			stack[n-1].key, stack[n-1].keyIsRead = name, true
			continue
		}

		path := ""
		if n := len(stack); n > 0 {
			parent := &stack[n-1]
			if parent.isObject {
				path = field(parent.path, parent.key)
				parent.keyIsRead = false
			} else {
				path = index(parent.path, parent.nextIndex)
				parent.nextIndex++
			}
		}
		if dec.InputOffset() == offset {
			return path, true
		}
		if isDelim {
			stack = append(stack, jsonContainer{path: path, isObject: delim == '{'})
		}
	}
}
