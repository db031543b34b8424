package libcontainer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Root is a state directory holding one subdirectory per container.
type Root struct {
	dir string
	log Logger
	// childSlack is the timer slack of the processes containers start
	// (0: whatever the starting thread has); see SetChildTimerSlack.
	childSlack uint64
}

// ErrNotExist is returned (wrapped) when a container does not exist. Its
// text is runc's, which engines match on.
var ErrNotExist = errors.New("container does not exist")

// ErrExist is returned (wrapped) by Create for an id already in use.
var ErrExist = errors.New("container with given ID already exists")

// OpenRoot opens a state directory. It is created (mode 0700: only root
// may reach the containers' state and exec fifos) by the first Create.
func OpenRoot(dir string) (*Root, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", dir, err)
	}
	return &Root{dir: abs, log: discardLogger{}}, nil
}

// SetLogger makes r, and the containers it loads or creates afterwards,
// log to l; nil discards (the default), a nil *slog.Logger included.
func (r *Root) SetLogger(l Logger) {
	if isNilLogger(l) {
		l = discardLogger{}
	}
	r.log = l
}

// SetChildTimerSlack makes every process that r's containers start (the
// init, and so the workload, and the hooks) begin with a timer slack of ns
// nanoseconds; 0 (the default) leaves them the slack of the thread that
// starts them. A caller that relaxed its own slack with package timerslack
// passes the value it had before, so containers and hooks get what they
// would have got from it.
func (r *Root) SetChildTimerSlack(ns uint64) { r.childSlack = ns }

// Dir returns the root's absolute path.
func (r *Root) Dir() string { return r.dir }

// CheckID rejects ids that are not safe as a directory name: the same
// alphabet as runc, [A-Za-z0-9_+.-]+, and not "." or "..".
func CheckID(id string) error {
	bad := id == "" || id == "." || id == ".." || len(id) > 1024
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_+.-", r)
		if !ok {
			bad = true
			break
		}
	}
	if bad {
		return fmt.Errorf("invalid container id %q: must match [A-Za-z0-9_+.-]+", id)
	}
	return nil
}

// Load returns the container with the given id.
func (r *Root) Load(id string) (*Container, error) {
	if err := CheckID(id); err != nil {
		return nil, err
	}
	dir := filepath.Join(r.dir, id)
	s, err := readStateFile(dir, nil)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotExist
		}
		return nil, fmt.Errorf("load container %s: %w", id, err)
	}
	return &Container{id: id, dir: dir, saved: s, log: r.log, childSlack: r.childSlack}, nil
}

// List returns the containers of the root, sorted by id. Directories
// without a readable state (a create in progress) are left out.
func (r *Root) List() ([]*Container, error) {
	entries, err := os.ReadDir(r.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", r.dir, err)
	}
	var out []*Container
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c, err := r.Load(e.Name())
		if err != nil {
			continue
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out, nil
}

// lockDir takes an exclusive flock on a container directory. Every command
// that changes a container holds it, so concurrent commands serialise.
func lockDir(dir string) (unlock func(), err error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { unix.Close(fd) }, nil
}

// RemoveIncomplete removes the directory of a container whose create never
// finished (no state file): `delete -f` of such an id must leave nothing
// behind. It waits for a create in progress; it reports whether it removed
// something (false when there was nothing, or the create completed).
func (r *Root) RemoveIncomplete(id string) (bool, error) {
	if err := CheckID(id); err != nil {
		return false, err
	}
	dir := filepath.Join(r.dir, id)
	unlock, err := lockDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(dir, stateFileName)); err == nil {
		return false, nil
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return false, fmt.Errorf("remove %s: %w", dir, err)
	}
	return true, nil
}
