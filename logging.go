package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// logHandler writes log records as runc (logrus) does, because engines
// parse them: text `time="…" level=error msg="…"` or JSON lines
// `{"level":"error","msg":"…","time":"…"}` (what containerd's shim reads).
type logHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	json  bool
	level slog.Level
	// toFile is true when --log names a file: fatal errors then also go
	// to stderr for the user.
	toFile bool
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }
func (h *logHandler) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *logHandler) WithGroup(string) slog.Handler                { return h }

func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warning"
	case l >= slog.LevelInfo:
		return "info"
	}
	return "debug"
}

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	t := r.Time.Format(time.RFC3339Nano)
	var line []byte
	if h.json {
		b, err := json.Marshal(map[string]string{"level": levelName(r.Level), "msg": r.Message, "time": t})
		if err != nil {
			return err
		}
		line = append(b, '\n')
	} else {
		line = fmt.Appendf(nil, "time=%q level=%s msg=%s\n", t, levelName(r.Level), strconv.Quote(r.Message))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(line)
	return err
}

// setupLogging makes the default slog logger write runc-style records.
func setupLogging(path, format string, debug bool) error {
	w := io.Writer(os.Stderr)
	if path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC|syscall.O_CLOEXEC, 0o644)
		if err != nil {
			return fmt.Errorf("--log %s: %w", path, err)
		}
		w = f
	}
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	slog.SetDefault(slog.New(&logHandler{mu: &sync.Mutex{}, w: w, json: format == "json", level: level, toFile: path != ""}))
	return nil
}

// logFatal logs a command's error and, when the log is a file, prints it
// on stderr too: the user must see it, and the engine reads the log.
func logFatal(err error) {
	h, ok := slog.Default().Handler().(*logHandler)
	if !ok {
		// Flags failed before logging was set up.
		fmt.Fprintln(os.Stderr, "husk:", err)
		return
	}
	slog.Error(err.Error())
	if h.toFile {
		fmt.Fprintln(os.Stderr, err)
	}
}
