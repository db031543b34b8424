package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestLoggerText(t *testing.T) {
	var buf bytes.Buffer
	l := &logger{w: &buf, configured: true}
	l.Warn(`a "quoted" warning`, "pid", 42)
	l.Debug("hidden without --debug")
	line := buf.String()
	want := regexp.MustCompile(`^time="[0-9T:.Z+-]+" level=warning msg="a \\"quoted\\" warning pid=42"\n$`)
	if !want.MatchString(line) {
		t.Fatalf("text line %q does not match %v", line, want)
	}
}

func TestLoggerJSONAndDebug(t *testing.T) {
	var buf bytes.Buffer
	l := &logger{w: &buf, configured: true, json: true, debug: true}
	l.Debugf("step %d", 3)
	l.fatal(errors.New("container does not exist"))
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2: %q", len(lines), buf.String())
	}
	for i, want := range []map[string]string{
		{"level": "debug", "msg": "step 3"},
		{"level": "error", "msg": "container does not exist"},
	} {
		var got map[string]string
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
			t.Fatalf("line %d %q: %v", i, lines[i], err)
		}
		if got["level"] != want["level"] || got["msg"] != want["msg"] || got["time"] == "" || len(got) != 3 {
			t.Fatalf("line %d = %v, want level %q msg %q and a time", i, got, want["level"], want["msg"])
		}
	}
}
