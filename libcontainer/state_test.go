package libcontainer

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/huskrt/husk/internal/testutil"
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

// TestEncodeStateRoundTrips: the hand-written state encoder writes every
// field so that encoding/json reads it back equal. A field added to the
// state or the configs types without the encoder fails here.
func TestEncodeStateRoundTrips(t *testing.T) {
	var s savedState
	testutil.FillAll(reflect.ValueOf(&s).Elem(), func(depth int) string { return "s\"\\\x01é<" + strconv.Itoa(depth) })
	s.Created = time.Date(2026, 11, 29, 10, 11, 12, 123456789, time.UTC)
	data := encodeState(&s)
	if !json.Valid(data) {
		t.Fatalf("encodeState wrote invalid JSON: %s", data)
	}
	var back savedState
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Created.Equal(s.Created) {
		t.Errorf("created %v, want %v", back.Created, s.Created)
	}
	back.Created, s.Created = time.Time{}, time.Time{}
	if !reflect.DeepEqual(back, s) {
		want, _ := json.Marshal(&s)
		t.Fatalf("round trip differs:\n got %s\nwant %s", data, want)
	}
	// nil slices and maps stay nil.
	empty := savedState{ID: "x", Config: &configs.Config{Process: &configs.Process{}}}
	var emptyBack savedState
	if err := json.Unmarshal(encodeState(&empty), &emptyBack); err != nil {
		t.Fatal(err)
	}
	emptyBack.Created = empty.Created
	if !reflect.DeepEqual(emptyBack, empty) {
		t.Fatalf("round trip of a sparse state differs: %s", encodeState(&empty))
	}
}

// TestLockSeesARecreatedContainer: after a delete and a create of the same
// id, the new state file may get the old one's inode number; lock must
// still see that the container was replaced (it used to return the stale
// state, and `run` then deleted the new container's state).
func TestLockSeesARecreatedContainer(t *testing.T) {
	// On a disk filesystem (ext4 here) a freed inode number is soon given
	// out again; tmpfs, where t.TempDir usually is, never reuses them.
	root, err := os.MkdirTemp("/var/tmp", "husk-state-test-")
	if err != nil {
		root = t.TempDir()
	} else {
		t.Cleanup(func() { os.RemoveAll(root) })
	}
	dir := filepath.Join(root, "c")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	old := &savedState{ID: "c", InitPid: 100, InitStartTime: 7, Config: &configs.Config{Rootfs: "/"}}
	if err := writeStateFile(dir, old); err != nil {
		t.Fatal(err)
	}
	c := &Container{id: "c", dir: dir, saved: old}

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	recreated := &savedState{ID: "c", InitPid: 200, InitStartTime: 9, Config: &configs.Config{Rootfs: "/"}}
	if err := writeStateFile(dir, recreated); err != nil {
		t.Fatal(err)
	}
	unlock, err := c.lock()
	if err == nil {
		unlock()
		t.Fatalf("lock accepted a re-created container (init pid %d)", c.saved.InitPid)
	}
}
