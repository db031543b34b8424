package libcontainer

import (
	"fmt"
	"log/slog"
)

// warnf logs a warning through the default slog logger; the CLI points it
// at --log in the format engines expect.
func warnf(format string, args ...any) {
	slog.Warn(fmt.Sprintf(format, args...))
}

// debugf logs a debug record (shown with the CLI's --debug).
func debugf(format string, args ...any) {
	slog.Debug(fmt.Sprintf(format, args...))
}
