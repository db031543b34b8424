package specconv

import (
	"fmt"
	"strconv"
)

// Error is one problem with one field of a config.json. Error() is a single
// line of the form "<path>: <message>", e.g.
// `process.capabilities.bounding[2]: unknown capability "CAP_FOO"`.
type Error struct {
	// Path is the JSON path of the offending field, e.g. "mounts[4].destination",
	// or empty when the problem is the document as a whole.
	Path string
	// Msg says what is wrong, without the path.
	Msg string
	// Err is the underlying cause (e.g. an errno from stat), if any.
	Err error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// fieldError builds an *Error for path with a printf-style message. User
// supplied strings must be formatted with %q so the message stays on one line.
func fieldError(path, format string, args ...any) *Error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// causeError builds an *Error that wraps cause (kept for errors.Is).
func causeError(path string, cause error, format string, args ...any) *Error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// index appends an array index to a JSON path: index("mounts", 4) is "mounts[4]".
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// key appends a map key to a JSON path in bracket form, so that keys with
// dots stay readable: key("linux.sysctl", "net.ipv4.ip_forward") is
// `linux.sysctl["net.ipv4.ip_forward"]`.
func key(path, name string) string {
	return path + "[" + strconv.Quote(name) + "]"
}

// field appends an object member to a JSON path. Member names that are not
// plain identifiers use the bracket form (see key).
func field(path, name string) string {
	if !isIdentifier(name) {
		return key(path, name)
	}
	if path == "" {
		return name
	}
	return path + "." + name
}

func isIdentifier(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && r >= '0' && r <= '9':
		default:
			return false
		}
	}
	return true
}
