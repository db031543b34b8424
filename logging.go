package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// logger writes the runtime's log as runc (logrus) does, because engines
// parse it: text `time="…" level=error msg="…"` or JSON lines
// `{"level":"error","msg":"…","time":"…"}` (what containerd's shim reads).
// It satisfies libcontainer.Logger. Not log/slog: its handler machinery
// is 0.1 MB of binary for the three levels husk writes (a husk process's
// RSS tracks its binary's size, docs/performance.md).
type logger struct {
	mu    sync.Mutex
	w     io.Writer
	json  bool
	debug bool
	// configured is set once the global flags are parsed; errors before
	// that go to stderr as plain text.
	configured bool
	// toFile is true when --log names a file: fatal errors then also go
	// to stderr for the user.
	toFile bool
}

// The levels husk writes, named as logrus names them.
const (
	levelDebug = "debug"
	levelWarn  = "warning"
	levelError = "error"
)

// loggerKey is the context key of the command's logger.
type loggerKey struct{}

func withLogger(ctx context.Context, l *logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// loggerFrom returns the logger runMain put into the context; a context
// without one (a test calling an action directly) gets a stderr logger.
func loggerFrom(ctx context.Context) *logger {
	if l, ok := ctx.Value(loggerKey{}).(*logger); ok {
		return l
	}
	return &logger{w: os.Stderr}
}

// configure points the logger at --log (stderr when empty) in --log-format.
func (l *logger) configure(path, format string, debug bool) error {
	w := io.Writer(os.Stderr)
	if path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC|syscall.O_CLOEXEC, 0o644)
		if err != nil {
			return fmt.Errorf("--log %s: %w", path, err)
		}
		w = f
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w, l.json, l.debug, l.toFile, l.configured = w, format == "json", debug, path != "", true
	return nil
}

// Warn logs a warning; args are slog-style key-value pairs appended to msg.
func (l *logger) Warn(msg string, args ...any) { l.write(levelWarn, msg, args) }

// Debug logs a message shown only with --debug.
func (l *logger) Debug(msg string, args ...any) {
	l.mu.Lock()
	enabled := l.debug
	l.mu.Unlock()
	if enabled {
		l.write(levelDebug, msg, args)
	}
}

// Warnf and Debugf format their message with fmt.Sprintf.
func (l *logger) Warnf(format string, args ...any)  { l.Warn(fmt.Sprintf(format, args...)) }
func (l *logger) Debugf(format string, args ...any) { l.Debug(fmt.Sprintf(format, args...)) }

func (l *logger) write(level, msg string, args []any) {
	for i := 0; i+1 < len(args); i += 2 {
		msg += fmt.Sprintf(" %v=%v", args[i], args[i+1])
	}
	if len(args)%2 == 1 {
		msg += fmt.Sprintf(" %v", args[len(args)-1])
	}
	t := time.Now().Format(time.RFC3339Nano)
	l.mu.Lock()
	defer l.mu.Unlock()
	var line []byte
	if l.json {
		b, err := json.Marshal(map[string]string{"level": level, "msg": msg, "time": t})
		if err != nil {
			return
		}
		line = append(b, '\n')
	} else {
		line = fmt.Appendf(nil, "time=%q level=%s msg=%s\n", t, level, strconv.Quote(msg))
	}
	_, _ = l.w.Write(line)
}

// fatal logs a command's error and, when the log is a file, prints it on
// stderr too: the user must see it, and the engine reads the log.
func (l *logger) fatal(err error) {
	l.mu.Lock()
	configured, toFile := l.configured, l.toFile
	l.mu.Unlock()
	if !configured {
		// Flags failed before logging was set up.
		fmt.Fprintln(os.Stderr, "husk:", err)
		return
	}
	l.write(levelError, err.Error(), nil)
	if toFile {
		fmt.Fprintln(os.Stderr, err)
	}
}
