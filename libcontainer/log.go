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
