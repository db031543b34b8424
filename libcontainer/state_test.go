package libcontainer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/huskrt/husk/libcontainer/configs"
)

// TestCorruptStateIsRefused: a state file that decodes but lacks the
// config (hand-edited, or from something else) used to crash `husk list`
// with a nil dereference; Load refuses it and List skips it.
func TestCorruptStateIsRefused(t *testing.T) {
	root, err := OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for id, content := range map[string]string{
		"no-config": `{"id": "no-config", "initPid": 1}`,
		"no-id":     `{"config": {"rootfs": "/"}}`,
		"not-json":  `{"id": `,
	} {
		dir := filepath.Join(root.Dir(), id)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, stateFileName), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := root.Load(id)
		if err == nil {
			t.Errorf("Load(%s) accepted %s", id, content)
		}
		if id != "not-json" && !errors.Is(err, errCorruptState) {
			t.Errorf("Load(%s) = %v, want errCorruptState", id, err)
		}
	}
	list, err := root.List()
	if err != nil || len(list) != 0 {
		t.Fatalf("List = %d containers, %v; want none", len(list), err)
	}
}

// TestLockRereadsOnlyAChangedStateFile: lock() decodes the state file again
// only when it is not the file this Container wrote or read.
func TestLockRereadsOnlyAChangedStateFile(t *testing.T) {
	dir := t.TempDir()
	saved := &savedState{ID: "c", Owner: "first", InitPid: 1, Config: &configs.Config{Rootfs: "/"}}
	if err := writeStateFile(dir, saved); err != nil {
		t.Fatal(err)
	}
	c := &Container{id: "c", dir: dir, saved: saved}
	unlock, err := c.lock()
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if c.saved != saved {
		t.Fatal("lock decoded the state file this container had just written")
	}

	// Another process rewrites it (a new file by rename).
	other := *saved
	other.Owner = "second"
	if err := writeStateFile(dir, &other); err != nil {
		t.Fatal(err)
	}
	unlock, err = c.lock()
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if c.saved == saved || c.saved.Owner != "second" {
		t.Fatalf("lock kept the old state (owner %q) after the file was replaced", c.saved.Owner)
	}
}
