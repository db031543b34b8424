package libcontainer

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestSetLoggerNilDiscards(t *testing.T) {
	r, err := OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var typedNil *slog.Logger
	for _, l := range []Logger{nil, typedNil} {
		r.SetLogger(l)
		warnf(r.log, "must not panic: %d", 1) // a typed nil would dereference nil
		debugf(r.log, "must not panic either")
	}
}

func TestSetLoggerTakesSlog(t *testing.T) {
	r, err := OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	r.SetLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	warnf(r.log, "process.capabilities: %s is not in the bounding set", "CAP_BPF")
	if !strings.Contains(buf.String(), `level=WARN msg="process.capabilities: CAP_BPF is not in the bounding set"`) {
		t.Fatalf("slog got %q", buf.String())
	}
}
