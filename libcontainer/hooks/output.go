package hooks

import "strings"

// tailBuffer is an io.Writer that keeps only the last outputLimit bytes
// written to it: the end of a hook's output usually says why it failed.
type tailBuffer struct {
	buf       []byte
	truncated bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= outputLimit {
		t.truncated = t.truncated || len(t.buf) > 0 || len(p) > outputLimit
		t.buf = append(t.buf[:0], p[len(p)-outputLimit:]...)
		return n, nil
	}
	if excess := len(t.buf) + len(p) - outputLimit; excess > 0 {
		// Shift in place so the buffer never grows past the limit.
		t.buf = t.buf[:copy(t.buf, t.buf[excess:])]
		t.truncated = true
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// String returns the kept output, trimmed and valid UTF-8, starting with
// "..." if earlier output was dropped.
func (t *tailBuffer) String() string {
	text := strings.ToValidUTF8(strings.TrimSpace(string(t.buf)), "\uFFFD")
	if t.truncated && text != "" {
		return "..." + text
	}
	return text
}
