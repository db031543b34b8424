package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWritePidFileIsAtomicAndIgnoresPlantedSymlinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The old fixed temp name, planted as a symlink to the victim.
	if err := os.Symlink(victim, filepath.Join(dir, ".pid.tmp")); err != nil {
		t.Fatal(err)
	}
	pidPath := filepath.Join(dir, "pid")
	if err := writePidFile(pidPath, 4242); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(pidPath); string(data) != "4242" {
		t.Fatalf("pid file = %q, want 4242 without newline", data)
	}
	if data, _ := os.ReadFile(victim); string(data) != "precious" {
		t.Fatalf("the planted symlink's target was overwritten: %q", data)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Fatalf("temp files left behind: %v", entries)
	}
}
