package libcontainer

import (
	"fmt"
	"reflect"
)

// Logger receives what libcontainer has to say besides the errors it
// returns: warnings (a capability the caller does not hold, a poststop hook
// that failed during cleanup) and debug traces. *slog.Logger satisfies it;
// libcontainer passes no key-value arguments, only the message.
type Logger interface {
	Warn(msg string, args ...any)
	Debug(msg string, args ...any)
}

// discardLogger is the Logger of a Root without SetLogger.
type discardLogger struct{}

func (discardLogger) Warn(string, ...any)  {}
func (discardLogger) Debug(string, ...any) {}

// isNilLogger is true for a nil interface and for an interface holding a
// nil pointer (a typed nil such as a nil *slog.Logger), which would panic
// on the first message.
func isNilLogger(l Logger) bool {
	if l == nil {
		return true
	}
	v := reflect.ValueOf(l)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// warnf and debugf format a message for l; a nil l discards it.
func warnf(l Logger, format string, args ...any) {
	if l != nil {
		l.Warn(fmt.Sprintf(format, args...))
	}
}

func debugf(l Logger, format string, args ...any) {
	if l != nil {
		l.Debug(fmt.Sprintf(format, args...))
	}
}
