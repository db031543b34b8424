package specconv

import (
	"encoding/json"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// decodeSpec decodes config.json content into a specs.Spec: with
// decodeFast, which needs no reflection, and when it declines with
// json.Unmarshal, whose result and errors (messages, error types) are the
// reference. TestDecodeMatchesUnmarshal and FuzzDecodeSpec compare the two.
func decodeSpec(data []byte) (*specs.Spec, error) {
	if spec, err := decodeFast(data); err == nil {
		return spec, nil
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, err
	}
	return &spec, nil
}
